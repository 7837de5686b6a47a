"""Subcommands of the ``mmemo`` CLI, one module each (see ``mmemo.cli``)."""
