"""``mmemo recipes ls|cp|validate``: list, copy and check the shipped training recipes."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from mmemo.models.tiny import FAMILIES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "recipes",
        help="list, copy or validate training recipes",
        description="List, copy or validate training recipes. A recipe file is code: every "
        "'_component_' is a dotted path that mmemo imports and calls (validate does too), so a "
        "recipe can run any Python installed here. Use only recipes you wrote or have read.",
    )
    sub = p.add_subparsers(dest="recipes_command", metavar="ACTION", required=True)
    ls = sub.add_parser("ls", help="list shipped recipes with their first comment line")
    ls.set_defaults(func=run_ls)
    cp = sub.add_parser("cp", help="copy a shipped recipe to edit it")
    cp.add_argument("name", help="recipe name, e.g. facial_r1")
    cp.add_argument("dest", nargs="?", default=".", help="file or folder (default: .)")
    cp.set_defaults(func=run_cp)
    va = sub.add_parser(
        "validate",
        help="check recipes (imports, keys, TRL arguments)",
        description="Check recipes: imports every '_component_' (a recipe file is code: this "
        "runs the modules it names), checks keys and TRL arguments.",
    )
    va.add_argument("recipes", nargs="*", help="paths or names (default: all shipped)")
    va.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides")
    va.set_defaults(func=run_validate)
    ti = sub.add_parser(
        "tiny",
        help="build a tiny random-weight backbone to try a recipe on CPU",
        description="Write a tiny random-weight model + tokenizer/processor of FAMILY to OUT "
        "(seconds, offline), loadable with model.path=OUT in any recipe of that family.",
    )
    ti.add_argument(
        "family",
        choices=FAMILIES,
    )
    ti.add_argument("out", help="output folder")
    ti.set_defaults(func=run_tiny)


def _shipped() -> list[Path]:
    from mmemo.resources import recipes_dir

    return sorted(p for p in recipes_dir().glob("*.yaml"))


def run_ls(args: argparse.Namespace) -> int:
    for path in _shipped():
        lines = [
            ln.lstrip("# ").strip()
            for ln in path.read_text().splitlines()[1:3]
            if ln.startswith("#")
        ]
        print(f"{path.stem:18s} {lines[0] if lines else ''}")
    return 0


def run_cp(args: argparse.Namespace) -> int:
    from mmemo.commands.train import find_recipe

    try:
        src = find_recipe(args.name)
    except FileNotFoundError as exc:
        print(f"mmemo recipes cp: {exc}", file=sys.stderr)
        return 2
    dest = Path(args.dest)
    if dest.is_dir():
        dest = dest / src.name
    if dest.exists():
        print(f"mmemo recipes cp: {dest} exists; not overwriting", file=sys.stderr)
        return 2
    shutil.copyfile(src, dest)
    print(dest)
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from mmemo.commands.train import find_recipe
    from mmemo.config import ConfigError, load_config

    targets = args.recipes or [str(p) for p in _shipped()]
    failed = 0
    for name in targets:
        try:
            load_config(find_recipe(name), args.set)
            print(f"ok      {name}")
        except (FileNotFoundError, ConfigError) as exc:
            failed += 1
            print(f"invalid {exc}")
    return 1 if failed else 0


def run_tiny(args: argparse.Namespace) -> int:
    from mmemo.models.tiny import build_tiny

    print(build_tiny(args.family, args.out))
    return 0
