"""Calibrate the voice head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mmemo.heads.calibration import choose_temperature, report, rounded
from mmemo.heads.voice import train as vt


def calibrate_speech(data: Path, heads: Path, cache: Path) -> dict[str, Any]:
    """Temperatures of the clip and speaker classifiers from actor-grouped OOF over 01-16."""
    from sklearn.model_selection import GroupKFold

    from mmemo.heads.voice.features import speaker_normalise
    from mmemo.heads.voice.model import SpeechHead

    X, y, actors = vt.ravdess_features(data, cache)
    train = np.isin(actors, list(vt.SPEECH_TRAIN_ACTORS))
    Xt, yt, at = X[train], y[train], actors[train]
    oof = {"clip": np.zeros((len(yt), 8)), "speaker": np.zeros((len(yt), 8))}
    for k, (tr, te) in enumerate(GroupKFold(4).split(Xt, yt, at)):
        models = vt.fit_speech(Xt[tr], yt[tr], at[tr])
        oof["clip"][te] = models["clip"].logits(Xt[te])
        oof["speaker"][te] = models["speaker"].logits(
            speaker_normalise(Xt[te], at[te], vt.SPEECH_SPEAKER_NORM)
        )
        vt.log(f"speech OOF fold {k + 1}/4 actors {sorted(set(at[te].tolist()))}")
    fits = {name: choose_temperature(oof[name], yt) for name in oof}
    temps = {name: fit[1] for name, fit in fits.items()}
    head = SpeechHead.load(heads)  # the shipped classifiers, scored on actors 17-20
    Xh, yh, ah = X[~train], y[~train], actors[~train]
    held = {
        "clip": head.clip.logits(Xh),
        "speaker": head.speaker.logits(speaker_normalise(Xh, ah, head.speaker_norm)),
    }
    out = {
        "temperature": temps["clip"],
        "temperature_speaker": temps["speaker"],
        "calibration": {
            "fit_on": "out-of-fold logits of the same recipe, RAVDESS actors 01-16, 4 folds "
            "grouped by actor (clip and speaker-normalised classifiers separately)",
            "fit_oof": {n: rounded(report(oof[n], yt, temps[n], fits[n][0])) for n in oof},
            "heldout_actors_17_20": {n: rounded(report(held[n], yh, temps[n])) for n in held},
        },
    }
    return out
