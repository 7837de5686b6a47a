"""mmemo.data"""
