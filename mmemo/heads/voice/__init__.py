"""The voice head: see :mod:`mmemo.heads`."""
