"""Train the voice head on RAVDESS, ASED and EmoDB and measure it across corpora.

    python -m mmemo.heads.train --data ../shared/data --only voice

Protocol (nothing is chosen on a corpus's own test speakers):

- settings (:class:`~mmemo.heads.voice.learn.Recipe`) were chosen by leave-one-corpus-out
  UAR on the four classes every corpus has (``benchmarks/voice_loco.py`` prints the table),
  with speaker-grouped folds as the in-corpus check;
- the shipped head is fitted on RAVDESS actors 01-16 plus all of ASED and EmoDB, so RAVDESS
  actors 17-20 stay a held-out set for the in-corpus figure reported as before;
- temperatures and the outlier gate are fitted on the out-of-corpus predictions of the
  leave-one-corpus-out runs (:mod:`mmemo.heads.voice.calibrate`).

Features are cached under ``--cache`` (default /tmp/mmemo_cache), never in the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mmemo.heads.bundle import save_bundle
from mmemo.heads.report import log
from mmemo.heads.voice.dataset import corpus_features
from mmemo.heads.voice.learn import (
    VOICE_LABELS,
    Recipe,
    VoiceData,
    fit_voice,
    grouped_cv,
    loco,
    restricted_scores,
    voice_logits,
)

RAVDESS_TEST_ACTORS = ("ravdess/17", "ravdess/18", "ravdess/19", "ravdess/20")


def shipped_training_rows(data: VoiceData) -> np.ndarray:
    """All clips except RAVDESS actors 17-20 (kept for the in-corpus held-out figure)."""
    return ~np.isin(data.speaker, RAVDESS_TEST_ACTORS)


def ravdess_heldout(models: dict, data: VoiceData, recipe: Recipe) -> dict[str, Any]:
    """Both classifiers on RAVDESS actors 17-20, 8 classes."""
    test = data.subset(np.isin(data.speaker, RAVDESS_TEST_ACTORS))
    return {
        mode: restricted_scores(lo, test.label, VOICE_LABELS)
        for mode, lo in voice_logits(models, test, recipe).items()
    }


def _scores_only(result: dict) -> dict:
    return {k: {"train": v["train"], "scores": v["scores"]} for k, v in result.items()}


def train_speech(data: Path, out: Path, cache: Path, recipe: Recipe | None = None) -> dict:
    """Fit the shipped voice head, measure it (LOCO, grouped CV, RAVDESS 17-20), calibrate, save."""
    from mmemo.heads.voice.calibrate import calibrate_from_loco

    recipe = recipe or Recipe()
    vd = corpus_features(data, cache, trim=recipe.trim, augment=recipe.augment)
    log(f"voice: {len(vd.label)} clips, {vd.X.shape[1]} features, {len(set(vd.speaker))} speakers")
    result = loco(vd, recipe)
    for held, r in result.items():
        log(f"voice LOCO held-out {held}: {r['scores']}")
    cv = grouped_cv(vd, recipe)
    log(f"voice speaker-grouped CV: {cv}")
    train = shipped_training_rows(vd)
    models = fit_voice(vd.subset(train), recipe)
    held = ravdess_heldout(models, vd, recipe)
    log(f"voice RAVDESS actors 17-20: {held}")
    calibration = calibrate_from_loco(result, vd, recipe)
    config = {
        "head": "speech",
        "labels": list(VOICE_LABELS),
        "input": {
            "sample_rate": 16000,
            "channels": "mono",
            "features": "opensmile functionals",
            "feature_sets": list(recipe.feature_sets),
            "trim_silence": recipe.trim,
            "dim": int(models["clip"].mean.shape[0]),
        },
        "classifiers": {
            "clip": {
                "type": "masked_logistic_regression",
                "C": recipe.C_clip,
                "input": "features standardised with the training pool's statistics",
                "features_used": int(np.any(models["clip"].weights[0] != 0, axis=1).sum()),
                "features_left_out": f"the {recipe.drop_shifted:.0%} of the features that "
                "shift most between the training corpora with the emotion held fixed "
                "(zero weight)",
            },
            "speaker": {
                "type": "masked_logistic_regression",
                "C": recipe.C_speaker,
                "normalisation": recipe.speaker_norm,
                "input": "features normalised over the speaker's clips",
                "clip_weight": recipe.speaker_clip_weight,
                "mode": "log-probabilities (1 - clip_weight) * speaker + clip_weight * clip, "
                "then the speaker temperature",
            },
        },  # fmt: skip
        "recipe": recipe.to_dict(),
        "trained_on": "RAVDESS speech actors 01-16, ASED (all 65 speakers), EmoDB (all 10 "
        f"speakers, boredom left out): {int(train.sum())} clips",
        "temperature": calibration["temperature"],
        "temperature_speaker": calibration["temperature_speaker"],
        "outlier_gate": calibration["outlier_gate"],
        "reliability": calibration["reliability"],
        "calibration": calibration["record"],
        "metrics": {
            "leave_one_corpus_out": _scores_only(result),
            "speaker_grouped_cv5": cv,
            "heldout_ravdess_actors_17_20": held,
        },
    }
    tensors = {**models["clip"].to_tensors("clip"), **models["speaker"].to_tensors("speaker")}
    save_bundle(out, "speech", config, tensors)
    return config["metrics"]
