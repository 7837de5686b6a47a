"""mmemo.taxonomy"""
