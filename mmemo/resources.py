"""Locations of files shipped with the package: recipes, default checkpoints, taxonomy data.

``recipes/`` and ``checkpoints/`` live at the repository top level (where a newcomer looks for
them) and reach the installed package through the ``mmemo/_recipes`` and ``mmemo/_checkpoints``
links, so one path works for a source checkout, an editable install and a wheel.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def recipes_dir() -> Path:
    """The folder holding the shipped YAML recipes."""
    return (PACKAGE_DIR / "_recipes").resolve()


def checkpoints_dir() -> Path:
    """The folder holding the shipped default checkpoints."""
    return (PACKAGE_DIR / "_checkpoints").resolve()


def taxonomy_data_dir() -> Path:
    """The folder holding the project-authored emotion wheels and word lists."""
    return PACKAGE_DIR / "taxonomy" / "data"
