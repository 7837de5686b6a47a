"""mmemo.rewards"""
