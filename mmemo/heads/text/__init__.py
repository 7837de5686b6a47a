"""The text head: see :mod:`mmemo.heads`."""
