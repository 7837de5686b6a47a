"""Top-block LoRA: training on cached lower-block states equals the merged encoder at predict."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.heads.bundle import MLP, save_bundle, softmax
from mmemo.heads.text.model import TEXT_LABELS, TextHead
from tests.heads.text.phrases import ANGER, JOY

TEXTS = ["I am so happy to see you!", "Get out of my room, now.", "ok", "What?! Really? No way!"]


def _cached(te, tok, model, texts, upto):
    from mmemo.heads.text.top import States

    return States(*te.lower_states(tok, model, texts, upto))


def test_top_blocks_on_cached_states_equal_the_merged_head(minilm, tmp_path):
    import torch
    from peft import get_peft_model

    tok, base = minilm.load_base()
    states = _cached(minilm, tok, base, TEXTS, 4)  # frozen blocks 0-3, cached once
    model = get_peft_model(base, minilm.lora_config(4, 8, layers=[4, 5]))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:  # B starts at zero (a no-op); make the adapter act
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    lora_blocks = {int(n.split("layer.")[1].split(".")[0])
                   for n, _ in model.named_parameters() if "lora_" in n}  # fmt: skip
    assert lora_blocks == {4, 5}
    model.eval()
    with torch.no_grad():
        h, m = states.batch(np.arange(len(TEXTS)))
        cached = minilm.top_pooled(model, h, m, 4).numpy()
    full = minilm.embed(tok, model, TEXTS)  # every block, unmerged adapter
    np.testing.assert_allclose(cached, full, atol=2e-5)
    mlp = MLP(np.zeros(384, np.float32), np.full(384, 0.1, np.float32),
              [np.random.default_rng(0).normal(size=(384, 7)).astype(np.float32)],
              [np.zeros(7, np.float32)])  # fmt: skip
    cfg = {"labels": list(TEXT_LABELS), "input": {"lora": {"r": 4, "alpha": 8, "layers": [4, 5]}}}
    save_bundle(tmp_path, "text", cfg, {**mlp.to_tensors("utterance"),
                                        **minilm.lora_tensors(model)})  # fmt: skip
    head = TextHead.load(tmp_path)
    np.testing.assert_allclose(head.embed(TEXTS), full, atol=2e-5)  # merged == cached path
    np.testing.assert_allclose(head.predict_proba(TEXTS), softmax(mlp.logits(full)), atol=1e-4)


def test_finetune_top_learns(minilm):
    from mmemo.heads.text.top import finetune_top, top_logits

    joy, anger = JOY, ANGER
    tok, base = minilm.load_base()
    states = _cached(minilm, tok, base, joy + anger, 4)
    y = np.array([3] * 6 + [0] * 6)  # TEXT_LABELS: joy = 3, anger = 0
    hp = {"epochs": 4, "batch": 4, "lr": 3e-3, "head_lr": 1e-2}
    model, head = finetune_top(states, y, seed=0, hp=hp)
    b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert b and max(float(p.detach().abs().max()) for p in b) > 0
    assert (top_logits(model, head, states, 4).argmax(1) == y).mean() >= 0.9


@pytest.mark.data
def test_shipped_text_head_beats_the_majority_class_on_meld_dev(minilm, shared_data):
    """Every 4th MELD dev utterance (all 7 classes, 278 rows): the shipped head must beat
    always answering the train majority class (neutral) on accuracy and weighted F1."""
    from pathlib import Path

    from sklearn.metrics import f1_score

    from mmemo.heads.text.meld import meld_rows

    shipped = Path(__file__).resolve().parents[3] / "checkpoints" / "default"
    if not (shipped / "text.json").is_file():
        pytest.skip("no text head shipped")
    texts, y = meld_rows(shared_data, "dev")
    texts, y = texts[::4], y[::4]
    pred = TextHead.load(shipped).predict_proba(texts).argmax(1)
    major = np.full_like(y, TEXT_LABELS.index("neutral"))
    acc, acc0 = (pred == y).mean(), (major == y).mean()
    f1, f10 = (f1_score(y, p, average="weighted") for p in (pred, major))
    assert acc >= acc0 + 0.08, (acc, acc0)
    assert f1 >= f10 + 0.20, (f1, f10)
