from __future__ import annotations

import json

import pytest

from mmemo.models.backbones import Backbone
from mmemo.models.tiny import FAMILIES, SPECIAL_TOKENS, build_tokenizer


def test_tokenizer_has_qwen_specials_and_renders_media_parts():
    tok = build_tokenizer("qwen2_5_vl")
    assert len(tok) <= 512
    for t in SPECIAL_TOKENS:
        assert tok.convert_tokens_to_ids(t) != tok.unk_token_id
        assert tok.tokenize(t) == [t]  # never split
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    msgs = [
        {
            "role": "user",
            "content": [
                {"type": "image"},
                {"type": "audio"},
                {"type": "video"},
                {"type": "text", "text": "hi"},
            ],
        }
    ]
    text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert text == (
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|><|audio_bos|><|AUDIO|>"
        "<|audio_eos|><|vision_start|><|video_pad|><|vision_end|>hi<|im_end|>\n<|im_start|>assistant\n"
    )


def test_omni_template_uses_omni_tokens():
    tok = build_tokenizer("qwen2_5_omni_thinker")
    text = tok.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}]}], tokenize=False
    )
    assert "<|IMAGE|>" in text and tok.image_token == "<|IMAGE|>"


@pytest.mark.parametrize("family", FAMILIES)
def test_build_save_reload_forward(family, tiny, manifest):
    import torch

    path = tiny(family)
    assert json.loads((path / "mmemo_backbone.json").read_text())["family"] == family
    bb = Backbone.from_pretrained(path, inputs="both")  # the loader real checkpoints use
    n_params = sum(p.numel() for p in bb.model.parameters())
    assert n_params < 400_000
    row = json.loads(manifest.read_text().splitlines()[0])
    batch = bb.collate_sft(
        [{"prompt": bb.messages(row, manifest.parent), "completion": bb.target(row)}]
    )
    with torch.no_grad():
        out = bb.model(**batch)
    assert torch.isfinite(out.loss)
    # random weights over a 512-token vocabulary: loss near ln(512) = 6.24
    assert 5.0 < out.loss.item() < 7.5
