"""mmemo.models"""
