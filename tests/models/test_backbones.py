from __future__ import annotations

import json

import pytest

from mmemo.models.backbones import Backbone, BackboneNotFound, resolve_checkpoint


def test_uncached_hub_id_fails_fast_naming_a_local_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(BackboneNotFound, match="never downloads.*--local-dir"):
        resolve_checkpoint("Qwen/Qwen2.5-VL-7B-Instruct")
    with pytest.raises(BackboneNotFound, match="no such model folder"):
        resolve_checkpoint(str(tmp_path / "missing"))


def test_sft_labels_cover_only_the_answer(tiny, manifest):
    bb = Backbone.from_pretrained(tiny("qwen2_audio"), inputs="media")
    row = json.loads(manifest.read_text().splitlines()[1])
    msgs = bb.messages(row, manifest.parent)
    assert [p["type"] for p in msgs[-1]["content"]] == ["audio", "text"]
    batch = bb.collate_sft([{"prompt": msgs, "completion": bb.target(row)}] * 2)
    assert batch["input_features"].shape == (2, 128, 3000)
    kept = batch["labels"][0][batch["labels"][0] != -100]
    text = bb.tokenizer.decode(kept)
    assert text == bb.target(row) + "<|im_end|>\n"


def test_generate_and_parse(tiny, manifest):
    bb = Backbone.from_pretrained(tiny("qwen2"), inputs="cues", think=False)
    rows = [json.loads(line) for line in manifest.read_text().splitlines()[:2]]
    out = bb.predict(rows, manifest.parent, max_new_tokens=5)
    assert len(out) == 2 and all(set(o) >= {"emotion", "well_formed", "completion"} for o in out)
    assert bb.parse("<answer>Angry</answer>") == {
        "emotion": "angry",
        "aus": [],
        "well_formed": True,
        "reasoning": "",
    }
