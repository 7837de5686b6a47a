"""Any causal LM reads cue text: tiny random Llama (Llama-3 template) and Gemma (a template
that refuses a system role) run the shipped ``cue_text`` recipe with no family forced, scored
by the recipe's own rewards only (no helper reward). By default 2 SFT steps (the mechanics:
after them the model writes random text, on which the real rewards are constant, so no GRPO
update is claimed); under ``-m slow`` the learning run of ``test_recipes.py``, whose real
rewards must vary within a GRPO group and change the weights."""

from __future__ import annotations

import json

import pytest

from mmemo.config import load_config
from mmemo.resources import recipes_dir
from tests.training.test_recipes import (
    LEARN_OVERRIDES,
    LEARN_SFT_STEPS,
    _changed,
    _tensors,
    check_rewards_vary,
    smoke_overrides,
)


@pytest.mark.parametrize("learn", [False, pytest.param(True, marks=pytest.mark.slow)])
@pytest.mark.parametrize("family", ["llama", "gemma"])
def test_cue_text_recipe_on_a_non_qwen_causal_lm(family, learn, tiny, manifest, tmp_path):
    from mmemo.models.backbones import Backbone
    from mmemo.training.pipeline import run_recipe

    model_dir = tiny(family)
    assert not (model_dir / "mmemo_backbone.json").exists()  # only config.json to go by
    out = tmp_path / "run"
    cfg = load_config(
        recipes_dir() / "cue_text.yaml",
        [*smoke_overrides(model_dir, manifest, out, LEARN_SFT_STEPS), *LEARN_OVERRIDES]
        if learn
        else smoke_overrides(model_dir, manifest, out),
    )
    final = run_recipe(cfg)
    assert _changed(_tensors(model_dir), _tensors(out / "sft" / "final")) > 0
    if learn:
        info = json.loads((final / "mmemo_stage_done.json").read_text())
        print(family, check_rewards_vary(info["log_history"], steps=2))
        assert _changed(_tensors(out / "sft" / "final"), _tensors(final)) > 0
    assert json.loads((final / "mmemo_backbone.json").read_text())["family"] == "causal_lm"

    bb = Backbone.from_pretrained(final)
    row = json.loads(manifest.read_text().splitlines()[0])
    text = bb.prompt_text(row, manifest.parent)
    if family == "llama":
        assert text.startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>")
        assert text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    else:  # no system role: the system text opens the user turn
        assert text.startswith("<bos><start_of_turn>user\nYou are an emotion analyst.")
        assert text.endswith("<start_of_turn>model\n")
    from mmemo.data.prompts import cue_text

    assert f"Measured cues: {cue_text(row)}" in text
    # the SFT labels cover the answer and the template's end-of-turn token only
    batch = bb.collate_sft([{"prompt": bb.messages(row), "completion": bb.target(row)}])
    kept = batch["labels"][0][batch["labels"][0] != -100]
    eot = "<|eot_id|>" if family == "llama" else "<end_of_turn>\n"
    assert bb.tokenizer.decode(kept) == bb.target(row) + eot


def test_unknown_model_type_names_what_is_supported(tmp_path):
    from mmemo.models.backbones import detect_family

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "wav2vec2"}))
    with pytest.raises(ValueError, match="any text-only AutoModelForCausalLM type"):
        detect_family(tmp_path)
