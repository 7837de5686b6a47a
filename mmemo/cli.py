"""The ``mmemo`` command.

Each subcommand lives in ``mmemo/commands/<name>.py`` with two functions:
``register(subparsers)`` adds its parser (argparse only, no heavy imports) and sets
``func`` to a runner that does the work and returns the exit code. This module only wires
them together, so ``mmemo --help`` stays fast.

Exit codes shared by all subcommands: 0 success, 1 some inputs failed (reported, the rest
processed), 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from mmemo import __version__

# Order is the order shown in --help.
COMMANDS: tuple[str, ...] = (
    "predict",
    "cues",
    "eval",
    "finetune",
    "data",
    "media",
    "metrics",
    "train",
    "recipes",
    "demo",
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``mmemo`` parser; ``only``: register just that command (the one being run, so
    ``mmemo metrics ...`` does not import the nine other command modules)."""
    parser = argparse.ArgumentParser(
        prog="mmemo",
        description=(
            "Multimodal emotion reasoning toolkit: measure cues from media, "
            "train reasoning backbones, predict and evaluate emotions. "
            "Everything runs offline; nothing is downloaded at run time."
        ),
        epilog="Run 'mmemo COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"mmemo {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"mmemo.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words[0] if words and words[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        if getattr(args, "verbose", True):  # commands without --verbose, or --verbose given
            return int(args.func(args) or 0)
        from mmemo.quiet import quiet_process

        with quiet_process():  # third-party native logs and warnings off (mmemo.quiet)
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# Commands whose process may end without the interpreter's teardown: they compute from
# files they have closed and leave nothing to clean up. Tearing down an interpreter with numpy
# loaded takes 15-20 ms, a tenth of a 100k-sample ``mmemo metrics ew --reference-tables``.
_NO_TEARDOWN = ("metrics",)


def console() -> None:
    """The ``mmemo`` executable: :func:`main` on ``sys.argv``, then exit with its code.

    After a command of :data:`_NO_TEARDOWN` the process ends with ``os._exit`` once its output
    is flushed, unless something still expects the normal exit (an ``atexit`` callback, such
    as coverage's or logging's, or a live thread)."""
    import atexit
    import threading

    words = sys.argv[1:]
    code = main()
    skip = bool(words) and words[0] in _NO_TEARDOWN
    if skip and atexit._ncallbacks() == 0 and threading.active_count() == 1:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):  # a closed pipe: let the normal exit report it
            sys.exit(code)
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console()
