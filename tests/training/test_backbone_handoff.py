"""A trained backbone is prompted at inference exactly as in training: the settings saved
beside the checkpoint rebuild byte-identical prompts in ``Backbone.from_pretrained`` and in
``mmemo predict``'s loader, with the training generation length and dtype."""

from __future__ import annotations

import json

import pytest

from mmemo.config import load_config
from mmemo.resources import recipes_dir
from tests.training.test_recipes import smoke_overrides

NON_DEFAULT = [
    "model.inputs=both",
    "model.think=false",
    "model.task=emotions",
    "model.num_frames=6",
    "model.max_side=96",
    "model.min_pixels=784",
    "model.max_pixels=6272",
    "model.dtype=bfloat16",
    "rewards.1.mode=answer_only",
    "grpo.max_completion_length=10",
]


@pytest.fixture(scope="module")
def trained(tiny, manifest, tmp_path_factory):
    from mmemo.models.backbones import load_backbone
    from mmemo.training.pipeline import run_recipe

    out = tmp_path_factory.mktemp("handoff") / "run"
    family_dir = tiny("qwen2_5_omni_thinker")
    overrides = [*smoke_overrides(family_dir, manifest, out), *NON_DEFAULT]
    overrides = [o for o in overrides if o != "model.dtype=float32"]
    cfg = load_config(recipes_dir() / "affectgpt_r1.yaml", overrides)
    final = run_recipe(cfg)
    # the backbone as training built it (recipe's model section on the SFT output)
    node = {k: v for k, v in cfg["model"].items() if k not in ("_component_", "path")}
    train_bb = load_backbone(out / "sft" / "final", **node)
    train_bb.settings.max_new_tokens = 10
    return final, train_bb


def _rows(manifest):
    return [json.loads(line) for line in manifest.read_text().splitlines()]


def test_settings_are_saved_beside_the_weights(trained):
    final, _ = trained
    saved = json.loads((final / "mmemo_backbone.json").read_text())
    s = saved["settings"]
    assert saved["family"] == "qwen2_5_omni_thinker"
    assert (s["inputs"], s["think"], s["task"], s["num_frames"], s["max_side"]) == (
        "both",
        False,
        "emotions",
        6,
        96,
    )
    assert (s["min_pixels"], s["max_pixels"], s["dtype"], s["max_new_tokens"]) == (
        784,
        6272,
        "bfloat16",
        10,
    )
    assert s["prompt_version"] >= 1


def test_inference_rebuilds_byte_identical_prompts(trained, manifest):
    import torch

    from mmemo.models.backbones import Backbone
    from mmemo.predict import _load_backbone

    final, train_bb = trained
    for loaded in (Backbone.from_pretrained(final), _load_backbone(final)):
        assert loaded.settings == train_bb.settings
        assert loaded.model.dtype == torch.bfloat16  # the trained dtype, not fp32
        for row in _rows(manifest):
            assert loaded.prompt_text(row, manifest.parent) == train_bb.prompt_text(
                row, manifest.parent
            )
            a = loaded.encode([loaded.materialize(loaded.messages(row, manifest.parent))], True)
            b = train_bb.encode(
                [train_bb.materialize(train_bb.messages(row, manifest.parent))], True
            )
            assert torch.equal(a["input_ids"], b["input_ids"])
            assert torch.equal(a["pixel_values_videos"], b["pixel_values_videos"])


def test_predict_generates_the_trained_length_and_dtype_can_be_overridden(trained, manifest):
    import torch

    from mmemo.models.backbones import Backbone

    final, _ = trained
    bb = Backbone.from_pretrained(final, dtype="float32", device="cpu")
    assert bb.model.dtype == torch.float32 and bb.settings.max_new_tokens == 10
    seen = {}
    original = bb.model.generate

    def spy(**kw):
        seen.update(kw)
        return original(**kw)

    bb.model.generate = spy
    bb.generate(_rows(manifest)[:1], manifest.parent)
    assert seen["max_new_tokens"] == 10


def test_a_newer_prompt_version_is_refused(trained, tmp_path):
    import shutil

    from mmemo.models.backbones import Backbone

    final, _ = trained
    copy = tmp_path / "ckpt"
    shutil.copytree(final, copy)
    marker = json.loads((copy / "mmemo_backbone.json").read_text())
    marker["settings"]["prompt_version"] = 99
    (copy / "mmemo_backbone.json").write_text(json.dumps(marker))
    with pytest.raises(ValueError, match="prompt template version 99"):
        Backbone.from_pretrained(copy)
