"""Calibrate the face head: a temperature from its FER2013 PublicTest predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mmemo.heads.calibration import (
    choose_temperature,
    ece,
    log_probs,
    nll,
    report,
    rounded,
    softmax_t,
)
from mmemo.heads.face.data import face_data


def calibrate_face(data: Path, heads: Path, cache: Path) -> dict[str, Any]:
    """Temperature of the face CNN from its FER2013 PublicTest predictions (validation split)."""
    from mmemo.heads.face.model import FaceHead
    from mmemo.heads.face.train_geometry import face_landmarks

    head = FaceHead.load(heads)
    head.temperature = 1.0
    faces = face_data(data, cache)
    x, y = faces["fer_publictest_x"], faces["fer_publictest_y"]
    lms = face_landmarks(faces, cache)["fer_publictest"] if head.geometry is not None else None
    logits = log_probs(head.predict_proba(x, landmarks=lms))
    t_nll, t = choose_temperature(logits, y)
    # honest "after": 2-fold cross-fit on PublicTest (T from one half, scored on the other)
    half = np.random.default_rng(0).permutation(len(y)) < len(y) // 2
    cross = np.zeros_like(logits)
    for m in (half, ~half):
        cross[m] = logits[m] / choose_temperature(logits[~m], y[~m])[1]
    return {
        "temperature": t,
        "calibration": {
            "fit_on": "the shipped head's FER2013 PublicTest predictions (PublicTest already "
            "chose the stage-A epoch: validation data, not a test set)",
            "fer2013_publictest_in_sample": rounded(report(logits, y, t, t_nll)),
            "fer2013_publictest_2fold_crossfit": {
                "ece_before": round(ece(softmax_t(logits), y), 4),
                "ece_after": round(ece(softmax_t(cross), y), 4),
                "nll_after": round(nll(cross, y), 4),
            },
        },
    }
