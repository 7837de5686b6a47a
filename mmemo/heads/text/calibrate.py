"""Calibrate the text head (a LoRA head keeps the temperature its training fitted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mmemo.heads.calibration import choose_temperature, report, rounded
from mmemo.heads.report import log


def calibrate_text(data: Path, heads: Path, cache: Path) -> dict[str, Any]:
    """Temperature of the utterance classifier from dialogue-grouped OOF on MELD train."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler

    from mmemo.heads.text.meld import meld_embeddings, meld_meta
    from mmemo.heads.text.model import TextHead

    head = TextHead.load(heads)
    if head.lora:
        # a fine-tuned encoder is not refitted here: train_text fits its temperature on the
        # out-of-fold logits of its dialogue-grouped CV of the same recipe; keep what it wrote
        log("text: LoRA head, temperature fitted by train_text (kept)")
        return {"temperature": head.config["temperature"],
                "calibration": head.config["calibration"],
                "reliability": text_reliability(data, heads)}  # fmt: skip
    Xtr, ytr = meld_embeddings(data, "train", cache)
    Xdv, ydv = meld_embeddings(data, "dev", cache)
    dialogues = np.array([m.dialogue for m in meld_meta(data, "train")])
    C = float(head.config["classifiers"]["utterance"]["C"])
    oof = np.zeros((len(ytr), 7))
    for tr, te in GroupKFold(4).split(Xtr, ytr, dialogues):
        sc = StandardScaler().fit(Xtr[tr])
        lr = LogisticRegression(C=C, max_iter=3000).fit(sc.transform(Xtr[tr]), ytr[tr])
        oof[te] = lr.decision_function(sc.transform(Xtr[te]))
    t_nll, t = choose_temperature(oof, ytr)
    return {
        "temperature": t,
        "reliability": text_reliability(data, heads),
        "calibration": {
            "fit_on": f"out-of-fold logits of the same recipe (C={C}), MELD train, 4 folds "
            "grouped by dialogue",
            "fit_oof": rounded(report(oof, ytr, t, t_nll)),
            "meld_dev": rounded(report(head.classifier.logits(Xdv), ydv, t)),
        },
    }


def text_reliability(data: Path, heads: Path) -> dict[str, Any]:
    """The text head's skill for its fusion weight: kappa of its MELD dev accuracy over the
    majority-class rate. There is no second text corpus here, so this is a new-dialogue
    (in-corpus) figure, not an out-of-corpus one; the record says so."""
    from mmemo.heads.fusion import kappa
    from mmemo.heads.text.meld import meld_rows
    from mmemo.heads.text.model import TextHead

    head = TextHead.load(heads)
    _, y = meld_rows(data, "dev")
    majority = float(np.bincount(y).max() / len(y))
    acc = float(head.config["metrics"]["meld_dev_acc"])
    return {
        "skill": round(kappa(acc, majority), 4),
        "measure": f"kappa of the MELD dev accuracy ({acc:.3f}) over the majority-class rate "
        f"({majority:.3f}); MELD dev is new dialogues of the training corpus (no second text "
        "corpus is available), so this is not an out-of-corpus figure",
    }
