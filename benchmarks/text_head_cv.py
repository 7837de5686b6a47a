"""The cheap rows of the text head's CV table (issue 12), on MELD train only.

    python benchmarks/text_head_cv.py --data /work/shared/data [--cache /tmp/mmemo_cache/text_12]

- frozen MiniLM + logistic regression, C x class weight, on the same 4 dialogue-grouped folds
  as :mod:`mmemo.heads.text.top` (frozen embeddings from the cached block-4 token states);
- per-class logit offsets for weighted F1 on the top-block recipe's cached out-of-fold
  logits: fitted on the other folds, scored on the held-out one (cross-fitted). Needs the
  folds of ``python -m mmemo.heads.text.top`` in the cache.
MELD dev is not read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def _wf1(y: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, average="weighted"))


OFFSET_GRID = np.linspace(-1.5, 1.5, 13)


def fit_offsets(z: np.ndarray, y: np.ndarray, grid=OFFSET_GRID, rounds=2):
    """Per-class offsets added to the logits, coordinate ascent on weighted F1."""
    b = np.zeros(z.shape[1])
    for _ in range(rounds):
        for c in range(len(b)):
            b[c] = max(
                grid, key=lambda v: _wf1(y, (z + np.where(np.arange(len(b)) == c, v, b)).argmax(1))
            )
    return b


def main(argv: list[str] | None = None) -> int:
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from mmemo.heads.text.encoder import load_base
    from mmemo.heads.text.meld import meld_lower_states, meld_meta
    from mmemo.heads.text.top import TOP_RECIPE, States, dialogue_folds, recipe_key, top_logits

    parser = argparse.ArgumentParser(prog="benchmarks/text_head_cv.py")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mmemo_cache/text_12"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = int(TOP_RECIPE["start"])
    S, L, y = meld_lower_states(args.data, "train", args.cache, start)
    folds = dialogue_folds(np.array([m.dialogue for m in meld_meta(args.data, "train")]))
    path = args.cache / "frozen_emb_train.npy"
    if path.is_file():
        X = np.load(path)
    else:  # the frozen top blocks on the cached states: the frozen MiniLM embedding
        X = top_logits(load_base()[1], lambda e: e, States(S, L), start) / 10.0
        np.save(path, X)
    for C in (0.003, 0.01):
        for cw in (None, "balanced"):
            scores = []
            for tr, te in folds:
                sc = StandardScaler().fit(X[tr])
                lr = LogisticRegression(C=C, max_iter=3000, class_weight=cw)
                lr.fit(sc.transform(X[tr]), y[tr])
                scores.append(_wf1(y[te], lr.predict(sc.transform(X[te]))))
            print(json.dumps({"frozen_lr": {"C": C, "class_weight": cw}, "mean": round(np.mean(scores), 4),
                              "std": round(np.std(scores), 4), "folds": [round(s, 4) for s in scores]}))  # fmt: skip
    key = recipe_key(TOP_RECIPE)
    have = [f for f in range(len(folds)) if (args.cache / f"top_cv_{key}_s0_f{f}.npy").is_file()]
    Z = {f: np.load(args.cache / f"top_cv_{key}_s0_f{f}.npy") for f in have}
    rows = []
    for f in have if len(have) > 1 else []:
        rest = [g for g in have if g != f]
        b = fit_offsets(np.concatenate([Z[g] for g in rest]),
                        np.concatenate([y[folds[g][1]] for g in rest]))  # fmt: skip
        yt = y[folds[f][1]]
        rows.append((_wf1(yt, Z[f].argmax(1)), _wf1(yt, (Z[f] + b).argmax(1))))
        print(json.dumps({"offsets_fold": f, "plain": round(rows[-1][0], 4),
                          "offsets": round(rows[-1][1], 4), "b": [round(v, 2) for v in b]}))  # fmt: skip
    if rows:
        plain, off = np.array(rows).T
        print(json.dumps({"top_block": {"mean": round(plain.mean(), 4), "std": round(plain.std(), 4)},
                          "with_offsets": {"mean": round(off.mean(), 4), "std": round(off.std(), 4)},
                          "gain": round(float((off - plain).mean()), 4)}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
