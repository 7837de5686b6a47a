"""``mmemo train RECIPE.yaml [key=value ...]``: run a recipe's stages (SFT, GRPO).

RECIPE is a path or the name of a shipped recipe (``mmemo recipes ls``). Overrides use dotted
keys (``model.path=/models/qwen2.5-vl``, ``grpo.num_generations=4``, ``stages=[grpo]``). A rerun
with the same ``output_dir`` skips finished stages and resumes an interrupted one from its last
checkpoint; ``--no-resume`` starts the stages over. Multi-GPU: launch through accelerate, e.g.
``accelerate launch --config_file recipes/accelerate/ddp.yaml -m mmemo.cli train RECIPE``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="run a training recipe (SFT then GRPO on TRL)",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("recipe", help="recipe YAML path or shipped recipe name (e.g. cue_text)")
    p.add_argument("overrides", nargs="*", help="key=value overrides")
    p.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints")
    p.add_argument("--dry-run", action="store_true", help="validate and print the resolved recipe")
    p.set_defaults(func=run)


def find_recipe(name: str) -> Path:
    """A recipe path: ``name`` itself, or ``<recipes_dir>/<name>[.yaml]``."""
    from mmemo.resources import recipes_dir

    path = Path(name)
    if path.is_file():
        return path
    for candidate in (recipes_dir() / name, recipes_dir() / f"{name}.yaml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{name}: no such recipe file or shipped recipe (see 'mmemo recipes ls')"
    )


def run(args: argparse.Namespace) -> int:
    from mmemo.config import ConfigError, load_config

    try:
        path = find_recipe(args.recipe)
        cfg = load_config(path, args.overrides)
    except (FileNotFoundError, ConfigError) as exc:
        print(f"mmemo train: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        import yaml

        print(yaml.safe_dump(cfg, sort_keys=False))
        return 0
    from mmemo.training.pipeline import run_recipe

    try:
        final = run_recipe(cfg, resume=not args.no_resume)
    except FileNotFoundError as exc:  # includes a model that is not available offline
        print(f"mmemo train: {exc}", file=sys.stderr)
        return 2
    print(f"final checkpoint: {final}")
    return 0
