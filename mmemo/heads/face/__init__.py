"""The face head: see :mod:`mmemo.heads`."""
