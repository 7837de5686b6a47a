"""Fixtures of the training tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sft_cue_text(tiny, manifest, tmp_path_factory):
    """The cue_text recipe's SFT stage as the learning smoke runs it
    (``tests/training/test_recipes.py``), once per session: the tiny model then writes the
    template, so the recipe's own rewards vary in a GRPO stage started from it."""
    from mmemo.config import load_config
    from mmemo.resources import recipes_dir
    from mmemo.training.pipeline import run_recipe
    from tests.training.test_recipes import LEARN_OVERRIDES, LEARN_SFT_STEPS, smoke_overrides

    out = tmp_path_factory.mktemp("sft_cue_text")
    overrides = [
        *smoke_overrides(tiny("qwen2"), manifest, out, LEARN_SFT_STEPS),
        *LEARN_OVERRIDES,
        "stages=[sft]",
    ]
    return run_recipe(load_config(recipes_dir() / "cue_text.yaml", overrides))
