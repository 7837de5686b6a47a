"""Calibrate the voice head on speech from corpora it was not trained on.

Everything here comes from the leave-one-corpus-out runs (:func:`mmemo.heads.voice.learn.loco`):
each held-out corpus's predictions were made by a head that never heard that corpus.

- **Temperatures** (``temperature`` for the clip classifier, ``temperature_speaker`` for the
  speaker-normalised one): fitted by NLL on the pooled out-of-corpus logits over each held-out
  corpus's shared classes. The honest "after" ECE of a corpus uses a temperature fitted on the
  *other* two corpora only (cross-fit).
- **Outlier gate**: the share of a clip's features beyond 3 training SDs. ``ok`` is the 95th
  percentile of that share on held-out *speakers* of the training corpora (in-domain speech
  from new speakers), ``max`` the median on held-out *corpora*; the weight falls linearly
  from 1 at ``ok`` to ``floor`` at ``max``. The record says how often the gate fires on
  out-of-corpus clips.
- **Reliability**: the clip classifier's out-of-corpus skill, kappa of its shared-class
  accuracy over chance, averaged over the held-out corpora: the voice's fusion weight.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mmemo.heads.calibration import choose_temperature, ece, nll, rounded, softmax_t
from mmemo.heads.fusion import kappa
from mmemo.heads.report import log
from mmemo.heads.voice.learn import VOICE_LABELS, Recipe, VoiceData, fit_voice

GATE_FLOOR = 0.05


def _restricted(logits: np.ndarray, labels: np.ndarray, classes: list[str]):
    idx = [VOICE_LABELS.index(c) for c in classes]
    keep = np.isin(labels, classes)
    y = np.array([classes.index(lab) for lab in labels[keep]])
    return np.asarray(logits, np.float64)[keep][:, idx], y


def _pooled(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Stack held-out corpora with different class counts: missing classes get logit -1e9,
    i.e. probability 0, which changes neither the NLL nor the top-1 confidence."""
    width = max(lo.shape[1] for lo, _ in parts)
    padded = [
        np.pad(lo, ((0, 0), (0, width - lo.shape[1])), constant_values=-1e9) for lo, _ in parts
    ]
    return np.concatenate(padded), np.concatenate([y for _, y in parts])


def _outlier_share(model: Any, X: np.ndarray) -> np.ndarray:
    return (np.abs((X - model.mean) / model.scale) > 3).mean(axis=1)


def temperatures_from_loco(result: dict, mode: str) -> dict[str, Any]:
    """The pooled out-of-corpus temperature of one classifier and per-corpus ECE before/after."""
    parts = {
        held: _restricted(r["logits"][mode], r["labels"], r["shared_classes"])
        for held, r in result.items()
    }
    per: dict[str, Any] = {}
    for held, (lo, y) in parts.items():
        t_other = choose_temperature(*_pooled([parts[h] for h in parts if h != held]))[1]
        per[held] = rounded(
            {
                "n": len(y),
                "temperature_crossfit": t_other,
                "ece_before": ece(softmax_t(lo), y),
                "ece_after": ece(softmax_t(lo, t_other), y),
                "nll_before": nll(lo, y),
                "nll_after": nll(lo, y, t_other),
                "mean_top_probability_before": float(softmax_t(lo).max(axis=1).mean()),
                "mean_top_probability_after": float(softmax_t(lo, t_other).max(axis=1).mean()),
                "accuracy": float((lo.argmax(1) == y).mean()),
            }
        )
    t_nll, t = choose_temperature(*_pooled(list(parts.values())))
    return {"temperature": t, "temperature_nll_fit": t_nll, "per_corpus": per}


def gate_from_loco(result: dict, data: VoiceData, recipe: Recipe) -> dict[str, Any]:
    """Gate thresholds from in-domain new speakers vs out-of-corpus clips, and its firing rate."""
    in_domain, out_corpus, per = [], [], {}
    for held, r in result.items():
        train = data.subset(np.isin(data.corpus, r["train"]))
        test = data.subset(data.corpus == held)
        # in-domain reference: a quarter of the training speakers held out from a refit
        speakers = np.unique(train.speaker)
        rng = np.random.default_rng(0)
        out_spk = rng.choice(speakers, len(speakers) // 4, replace=False)
        inner = fit_voice(train.subset(~np.isin(train.speaker, out_spk)), recipe)["clip"]
        held_spk = train.subset(np.isin(train.speaker, out_spk))
        in_domain.append(_outlier_share(inner, held_spk.columns(recipe.feature_sets)))
        share = _outlier_share(r["models"]["clip"], test.columns(recipe.feature_sets))
        out_corpus.append(share)
        per[held] = share
    ind, ooc = np.concatenate(in_domain), np.concatenate(out_corpus)
    ok = float(np.percentile(ind, 95))
    top = max(float(np.median(ooc)), ok + 0.02)
    gate = {"ok": round(ok, 4), "max": round(top, 4), "floor": GATE_FLOOR}
    record = {
        "rule": "ok = 95th percentile of the share on held-out speakers of the training "
        "corpora; max = median share on held-out corpora",
        "in_domain_share_median": round(float(np.median(ind)), 4),
        "out_of_corpus_share_median": round(float(np.median(ooc)), 4),
        "fires_on_out_of_corpus": {h: round(float((s > ok).mean()), 4) for h, s in per.items()},
        "fires_on_out_of_corpus_all": round(float((ooc > ok).mean()), 4),
        "fires_on_in_domain_new_speakers": round(float((ind > ok).mean()), 4),
        "mean_weight_factor_out_of_corpus": round(
            float(np.clip((top - ooc) / (top - ok), GATE_FLOOR, 1).mean()), 4
        ),
    }
    return {"gate": gate, "record": record}


def reliability_from_loco(result: dict) -> dict[str, Any]:
    """Out-of-corpus skill of the clip classifier: mean kappa over the held-out corpora."""
    per = {}
    for held, r in result.items():
        s = r["scores"]["clip"]["shared"]
        per[held] = kappa(s["acc"], 1.0 / len(r["shared_classes"]))
    return {
        "skill": round(float(np.mean(list(per.values()))), 4),
        "measure": "kappa of the single-clip accuracy over chance on the shared classes of "
        "each held-out corpus (leave-one-corpus-out), mean over RAVDESS, ASED, EmoDB",
        "per_corpus": {k: round(v, 4) for k, v in per.items()},
    }


def calibrate_from_loco(result: dict, data: VoiceData, recipe: Recipe) -> dict[str, Any]:
    """Temperatures, gate and reliability of the voice head from a LOCO result."""
    temps = {mode: temperatures_from_loco(result, mode) for mode in ("clip", "speaker")}
    gate = gate_from_loco(result, data, recipe)
    rel = reliability_from_loco(result)
    log(f"voice calibration: T clip {temps['clip']['temperature']:.3f}, T speaker "
        f"{temps['speaker']['temperature']:.3f}, gate {gate['gate']}, skill {rel['skill']}")  # fmt: skip
    return {
        "temperature": temps["clip"]["temperature"],
        "temperature_speaker": temps["speaker"]["temperature"],
        "outlier_gate": gate["gate"],
        "reliability": rel,
        "record": {
            "fit_on": "out-of-corpus logits of the leave-one-corpus-out runs (each held-out "
            "corpus predicted by a head trained on the other two), shared classes",
            "clip": temps["clip"],
            "speaker": temps["speaker"],
            "outlier_gate": gate["record"],
        },
    }


def calibrate_speech(data: Path, heads: Path, cache: Path) -> dict[str, Any]:
    """Re-derive the shipped head's calibration from a fresh LOCO run of its recipe."""
    from mmemo.heads.voice.dataset import corpus_features
    from mmemo.heads.voice.learn import loco
    from mmemo.heads.voice.model import SpeechHead

    head = SpeechHead.load(heads)
    # a head from before the speaker mode mixed in the clip classifier reads it alone
    rec = {"speaker_clip_weight": head.speaker_clip_weight, **head.config["recipe"]}
    recipe = Recipe.from_dict({**rec, "feature_sets": head.feature_sets})
    vd = corpus_features(data, cache, trim=recipe.trim, augment=recipe.augment)
    cal = calibrate_from_loco(loco(vd, recipe), vd, recipe)
    return {
        "temperature": cal["temperature"],
        "temperature_speaker": cal["temperature_speaker"],
        "outlier_gate": cal["outlier_gate"],
        "reliability": cal["reliability"],
        "calibration": cal["record"],
    }
