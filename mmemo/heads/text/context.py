"""Dialogue context for the MELD text head: which utterance comes before which.

MELD rows are kept exactly as :func:`mmemo.heads.text.meld.meld_rows` keeps them (same
filter, same order), so row ``i`` here describes row ``i`` of the cached embeddings.

``python -m mmemo.heads.text.context --data /work/shared/data`` runs the experiment of
whether the previous utterance(s) help the text head: context variants and C are compared by
dialogue-grouped CV on MELD train only; MELD dev is reported, never used to choose.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from mmemo.heads.text.meld import MeldRow, meld_meta

# --------------------------------------------------------------------------- experiment
#     python -m mmemo.heads.text.context --data /work/shared/data
# Does the previous utterance help the MiniLM + LR text head? Variants and C are compared by
# 4-fold CV on MELD train grouped by dialogue; MELD dev is only reported, never used to choose.

C_GRID = (0.001, 0.003, 0.01)
TEXT_C = 0.003  # the frozen-embedding baseline's C (4-fold dialogue-grouped CV on train)
VARIANTS = ("none", "flags", "prev1", "prev2", "pair", "stack")


def previous_index(meta: list[MeldRow], back: int = 1) -> np.ndarray:
    """Row index of the utterance ``back`` turns earlier in the same dialogue, else -1."""
    return np.array(
        [i - back if i >= back and meta[i - back].dialogue == m.dialogue else -1
         for i, m in enumerate(meta)]
    )  # fmt: skip


def _prev_block(X: np.ndarray, meta: list[MeldRow], back: int) -> np.ndarray:
    """``[previous embedding (0 if none), has-previous, speaker-changed]`` per row."""
    p = previous_index(meta, back)
    has = (p >= 0).astype(np.float32)
    change = np.array(
        [float(j >= 0 and meta[j].speaker != m.speaker) for j, m in zip(p, meta)], np.float32
    )
    emb = np.where(has[:, None] > 0, X[np.maximum(p, 0)], 0.0)
    return np.hstack([emb, has[:, None], change[:, None]]).astype(np.float32)


def context_features(
    variant: str, X: np.ndarray, meta: list[MeldRow], pair: np.ndarray, prev_probs: np.ndarray
) -> np.ndarray:
    """Features of one variant. ``X``: utterance embeddings ``[N, 384]``; ``pair``: embeddings
    of "previous + current" text; ``prev_probs``: context-free class probabilities ``[N, 7]``
    (out-of-fold on train) whose previous-row values are the ``stack`` context."""
    flags = _prev_block(X, meta, 1)[:, -2:]
    if variant == "none":
        return X
    if variant == "flags":
        return np.hstack([X, flags])
    if variant == "prev1":
        return np.hstack([X, _prev_block(X, meta, 1)])
    if variant == "prev2":
        return np.hstack([X, _prev_block(X, meta, 1), _prev_block(X, meta, 2)])
    if variant == "pair":
        return np.hstack([X, pair, flags])
    if variant == "stack":
        return np.hstack([X, _prev_block(prev_probs, meta, 1)])
    raise ValueError(f"unknown context variant {variant!r}")


def _pair_embeddings(data: Path, split: str, meta: list[MeldRow], cache: Path) -> np.ndarray:
    from mmemo.heads.report import log
    from mmemo.heads.text.meld import meld_rows
    from mmemo.heads.text.model import embed_texts

    path = cache / f"meld_{split}_minilm_prev1.npz"
    if path.is_file():
        X = np.load(path)["X"]
        if len(X) == len(meta):
            return X
    texts, _ = meld_rows(data, split)
    p = previous_index(meta)
    joined = [(texts[j] + " " + t if j >= 0 else t) for t, j in zip(texts, p)]
    log(f"embedding {len(joined)} MELD {split} previous+current texts with MiniLM")
    X = embed_texts(joined)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, X=X)
    return X


def _fit(F: np.ndarray, y: np.ndarray, C: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(F)
    return sc, LogisticRegression(C=C, max_iter=3000).fit(sc.transform(F), y)


def run_experiment(data: Path, cache: Path) -> dict:
    """Train-CV weighted F1 of every variant and C; dev F1 of the CV-best of each variant."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import GroupKFold

    from mmemo.heads.report import log
    from mmemo.heads.text.meld import meld_embeddings

    split_data = {}
    for split in ("train", "dev"):
        X, y = meld_embeddings(data, split, cache)
        meta = meld_meta(data, split)
        split_data[split] = (X, y, meta, _pair_embeddings(data, split, meta, cache))
    X, y, meta, pair = split_data["train"]
    groups = np.array([m.dialogue for m in meta])
    folds = list(GroupKFold(4).split(X, y, groups))
    oof = np.zeros((len(y), 7), np.float32)  # context-free probabilities, for "stack"
    for tr, te in folds:
        sc, lr = _fit(X[tr], y[tr], TEXT_C)
        oof[te] = lr.predict_proba(sc.transform(X[te]))
    sc, lr = _fit(X, y, TEXT_C)
    Xd, yd, meta_d, pair_d = split_data["dev"]
    dev_probs = lr.predict_proba(sc.transform(Xd)).astype(np.float32)
    out = {}
    for variant in VARIANTS:
        F = context_features(variant, X, meta, pair, oof)
        cv = {}
        for C in C_GRID:
            scores = []
            for tr, te in folds:
                s, m = _fit(F[tr], y[tr], C)
                scores.append(f1_score(y[te], m.predict(s.transform(F[te])), average="weighted"))
            cv[C] = (float(np.mean(scores)), float(np.std(scores)))
            log(f"text context {variant} C={C}: train CV wF1 {cv[C][0]:.4f} +- {cv[C][1]:.4f}")
        best = max(cv, key=lambda c: cv[c][0])
        s, m = _fit(F, y, best)
        Fd = context_features(variant, Xd, meta_d, pair_d, dev_probs)
        dev = float(f1_score(yd, m.predict(s.transform(Fd)), average="weighted"))
        out[variant] = {"C": best, "cv_mean": cv[best][0], "cv_std": cv[best][1], "dev": dev}
        log(f"text context {variant}: best C={best} CV {cv[best][0]:.4f}, dev wF1 {dev:.4f}")
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m mmemo.heads.text.context")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mmemo_cache"))
    args = parser.parse_args(argv)
    print(json.dumps(run_experiment(args.data, args.cache), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
