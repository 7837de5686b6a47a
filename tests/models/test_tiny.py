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
    # the released Qwen2.5-VL layout: default system turn, vision markers, no audio part
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>"
        "<|vision_start|><|video_pad|><|vision_end|>hi<|im_end|>\n<|im_start|>assistant\n"
    )


def test_omni_template_uses_omni_tokens_and_system():
    from mmemo.models.tiny_templates import OMNI_SYSTEM

    tok = build_tokenizer("qwen2_5_omni_thinker")
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "audio"}]}]
    text = tok.apply_chat_template(msgs, tokenize=False)
    assert text == (
        f"<|im_start|>system\n{OMNI_SYSTEM}<|im_end|>\n<|im_start|>user\n"
        "<|vision_bos|><|IMAGE|><|vision_eos|><|audio_bos|><|AUDIO|><|audio_eos|><|im_end|>\n"
    )
    assert tok.image_token == "<|IMAGE|>" and tok.vision_bos_token == "<|vision_bos|>"


def test_audio_template_numbers_audio_parts():
    tok = build_tokenizer("qwen2_audio")
    msgs = [{"role": "user", "content": [{"type": "audio"}, {"type": "text", "text": "hi"}]}]
    text = tok.apply_chat_template(msgs, tokenize=False)
    assert "<|im_start|>user\nAudio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\nhi<|im_end|>" in text


def test_gemma_template_refuses_a_system_role_and_llama_uses_headers():
    gemma, llama = build_tokenizer("gemma"), build_tokenizer("llama")
    chat = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    with pytest.raises(Exception, match="System role not supported"):
        gemma.apply_chat_template(chat, tokenize=False)
    assert gemma.apply_chat_template(chat[1:], tokenize=False, add_generation_prompt=True) == (
        "<bos><start_of_turn>user\nu<end_of_turn>\n<start_of_turn>model\n"
    )
    assert llama.apply_chat_template(chat, tokenize=False) == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\ns<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nu<|eot_id|>"
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_build_save_reload_forward(family, tiny, manifest):
    import torch

    from mmemo.models.backbones import detect_family

    path = tiny(family)
    if family in ("llama", "gemma"):  # no marker: found from config.json like a real model
        assert not (path / "mmemo_backbone.json").exists()
        assert detect_family(path) == "causal_lm"
    else:
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
