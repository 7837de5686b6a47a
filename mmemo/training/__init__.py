"""mmemo.training"""
