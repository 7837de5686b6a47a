"""Every shipped recipe runs 2 SFT + 2 GRPO steps on CPU with its tiny backbone."""

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


def smoke_overrides(family_dir, manifest, out) -> list[str]:
    return [
        f"model.path={family_dir}",
        f"data.train={manifest}",
        f"output_dir={out}",
        "model.dtype=float32",
        "seed=0",
        "sft.max_steps=2",
        "sft.learning_rate=1e-3",
        "sft.gradient_accumulation_steps=1",
        "sft.per_device_train_batch_size=2",
        "grpo.max_steps=2",
        "grpo.learning_rate=1e-3",
        "grpo.gradient_accumulation_steps=1",
        "grpo.num_generations=4",
        "grpo.per_device_train_batch_size=4",
        "grpo.max_completion_length=12",
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


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_recipe_smoke(recipe, tiny, manifest, tmp_path):
    from mmemo.training.pipeline import run_recipe

    family_dir = tiny(RECIPES[recipe])
    out = tmp_path / "run"
    path = recipes_dir() / f"{recipe}.yaml"
    cfg = load_config(path, smoke_overrides(family_dir, manifest, out))
    n = len(cfg["rewards"])
    cfg = load_config(
        path,
        [
            *smoke_overrides(family_dir, manifest, out),
            f"rewards.{n}={{_component_: tests.models.tiny_helpers.get_hash_reward, weight: 1.0}}",
        ],
    )
    final = run_recipe(cfg)
    assert final == out / "grpo" / "final"

    init, sft, grpo = _tensors(family_dir), _tensors(out / "sft" / "final"), _tensors(final)
    assert _changed(init, sft) > 0, "SFT changed no parameter"
    assert _changed(sft, grpo) > 0, "GRPO changed no parameter"

    info = json.loads((final / "mmemo_stage_done.json").read_text())
    assert info["global_step"] == 2
    logged = set().union(*[set(entry) for entry in info["log_history"]])
    from mmemo.config import instantiate

    for node in cfg["rewards"]:
        name = instantiate(node, drop=("weight",)).__name__
        assert f"rewards/{name}/mean" in logged, f"{name} not logged"
    for node in cfg.get("reward_shapers") or []:
        cls = node["_component_"].rsplit(".", 1)[-1]
        assert any(k.startswith(f"shapers/{cls}/") for k in logged), f"{cls} not logged"
    # a zero-variance reward in every group gives zero advantages, so no GRPO update
    stds = [e["reward_std"] for e in info["log_history"] if "reward_std" in e]
    assert len(stds) == 2 and max(stds) > 0, f"rewards never varied within a group: {stds}"
    sft_info = json.loads((out / "sft" / "final" / "mmemo_stage_done.json").read_text())
    assert [e["loss"] for e in sft_info["log_history"] if "loss" in e][0] > 0

    # the resolved config saved with the outputs reloads to the same recipe
    assert load_config(out / "resolved_config.yaml") == cfg
