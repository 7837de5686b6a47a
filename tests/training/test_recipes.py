"""Every shipped recipe runs on CPU with its tiny backbone, scored by the recipe's own rewards
only (no helper reward): a 2+2-step mechanics smoke for all, and a run whose real rewards must
vary and train (cue_text by default, the media recipes under ``-m slow``)."""

from __future__ import annotations

import json

import pytest

from mmemo.config import load_config
from mmemo.resources import recipes_dir

RECIPES = {
    "cue_text": "qwen2",
    "facial_r1": "qwen2_5_vl",
    "emotion_thinker": "qwen2_audio",
    "video_emotion": "qwen2_5_vl",
    "affectgpt_r1": "qwen2_5_omni_thinker",
}


def smoke_overrides(family_dir, manifest, out, sft_steps: int = 2) -> list[str]:
    return [
        f"model.path={family_dir}",
        f"data.train={manifest}",
        f"output_dir={out}",
        "model.dtype=float32",
        "seed=0",
        f"sft.max_steps={sft_steps}",
        "sft.learning_rate=5e-3",
        "sft.lr_scheduler_type=constant",
        "sft.gradient_accumulation_steps=1",
        "sft.per_device_train_batch_size=4",
        "grpo.max_steps=2",
        "grpo.learning_rate=1e-4",
        "grpo.gradient_accumulation_steps=1",
        "grpo.num_generations=4",
        "grpo.per_device_train_batch_size=4",
        "grpo.max_completion_length=24",
        "grpo.temperature=1.0",
        # the recipes' real-size pixel budgets would blow tiny test images up to 1280 tokens
        "model.min_pixels=3136",
        "model.max_pixels=12544",
        "model.video_min_pixels=3136",
        "model.video_max_pixels=12544",
    ]


def _tensors(path):
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def _changed(a, b) -> int:
    import torch

    return sum(not torch.equal(a[k], b[k]) for k in a if k in b)


def _run(recipe, tiny, manifest, tmp_path, sft_steps):
    from mmemo.training.pipeline import run_recipe

    family_dir = tiny(RECIPES[recipe])
    out = tmp_path / "run"
    path = recipes_dir() / f"{recipe}.yaml"
    cfg = load_config(path, smoke_overrides(family_dir, manifest, out, sft_steps))
    final = run_recipe(cfg)
    assert final == out / "grpo" / "final"
    info = json.loads((final / "mmemo_stage_done.json").read_text())
    return cfg, family_dir, out, final, info


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_recipe_smoke(recipe, tiny, manifest, tmp_path):
    """2 SFT + 2 GRPO steps with the recipe's own rewards only: the stages run, log every
    reward and shaper, save and reload. After 2 SFT steps the tiny model writes random text,
    on which the real rewards are constant, so no GRPO update is expected here: that is
    what :func:`test_recipe_rewards_vary_and_train` checks."""
    cfg, family_dir, out, final, info = _run(recipe, tiny, manifest, tmp_path, sft_steps=2)
    assert _changed(_tensors(family_dir), _tensors(out / "sft" / "final")) > 0, (
        "SFT changed nothing"
    )
    assert info["global_step"] == 2
    logged = set().union(*[set(entry) for entry in info["log_history"]])
    from mmemo.config import instantiate

    for node in cfg["rewards"]:
        name = instantiate(node, drop=("weight",)).__name__
        assert f"rewards/{name}/mean" in logged, f"{name} not logged"
    for node in cfg.get("reward_shapers") or []:
        cls = node["_component_"].rsplit(".", 1)[-1]
        assert any(k.startswith(f"shapers/{cls}/") for k in logged), f"{cls} not logged"
    sft_info = json.loads((out / "sft" / "final" / "mmemo_stage_done.json").read_text())
    assert [e["loss"] for e in sft_info["log_history"] if "loss" in e][0] > 0

    # the resolved config saved with the outputs reloads to the same recipe
    assert load_config(out / "resolved_config.yaml") == cfg


def _rewards_vary_and_train(recipe, tiny, manifest, tmp_path):
    # 40 constant-rate SFT steps on all 4 rows: the tiny model learns the short targets well
    # enough that sampled completions differ in format and answer (the rows share one clip,
    # so the label is a guess), and the recipe's own rewards, with no helper reward added,
    # must vary within a group: a zero-variance reward gives zero advantages, no update.
    _, _, out, final, info = _run(recipe, tiny, manifest, tmp_path, sft_steps=40)
    stds = [e["reward_std"] for e in info["log_history"] if "reward_std" in e]
    assert len(stds) == 2 and max(stds) > 0, f"the recipe's rewards never varied: {stds}"
    assert _changed(_tensors(out / "sft" / "final"), _tensors(final)) > 0, "GRPO changed nothing"


def test_cue_text_recipe_rewards_vary_and_train(tiny, manifest, tmp_path):
    """Default suite: the text recipe (the cheapest tiny model) trains on real reward signal."""
    _rewards_vary_and_train("cue_text", tiny, manifest, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", [r for r in RECIPES if r != "cue_text"])
def test_recipe_rewards_vary_and_train(recipe, tiny, manifest, tmp_path):
    """The media recipes (minutes each on CPU). Known to fail at the time of writing: their
    tiny models do not learn the answer template in 40 SFT steps, so their rewards stay
    constant on the smoke data, which is what this test exists to catch."""
    _rewards_vary_and_train(recipe, tiny, manifest, tmp_path)
