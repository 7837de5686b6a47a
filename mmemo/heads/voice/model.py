"""The voice head at inference: speech -> openSMILE functionals -> classifier.

Two classifiers ship: ``clip`` (one clip alone) and ``speaker`` (features normalised over
several clips of one speaker first; its log-probabilities are mixed with a share
``classifiers.speaker.clip_weight`` of the clip classifier's). :meth:`SpeechHead.weight_gate` turns the share of a
clip's features that lie beyond 3 training standard deviations into a fusion weight
factor; its thresholds come from the head's JSON (``outlier_gate``), fitted on
out-of-corpus speech (see :mod:`mmemo.heads.voice.calibrate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mmemo.heads.bundle import (
    MLP,
    HeadError,
    config_labels,
    config_temperature,
    default_dir,
    load_bundle,
    softmax,
)
from mmemo.heads.voice.features import (
    SAMPLE_RATE,
    SPEAKER_NORMS,
    speaker_normalise,
    speech_features,
)

SPEECH_LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")


# gate thresholds of heads whose JSON names none (the RAVDESS-only head of earlier releases)
DEFAULT_GATE = {"ok": 0.10, "max": 0.25, "floor": 0.05}


class SpeechHead:
    """Speech emotion from raw audio: openSMILE functionals -> logistic regression (8 classes)."""

    def __init__(self, config: dict[str, Any], tensors: dict[str, np.ndarray], path: Path) -> None:
        self.config = config
        self.labels = config_labels(config, SPEECH_LABELS, path)
        self.feature_sets = tuple(config["input"]["feature_sets"])
        self.clip = MLP.from_tensors(tensors, "clip")
        self.speaker = MLP.from_tensors(tensors, "speaker")
        # heads trained before rank normalisation existed name none: they used z-scores
        spk_cfg = (config.get("classifiers") or {}).get("speaker") or {}
        self.speaker_norm = spk_cfg.get("normalisation", "zscore")
        if self.speaker_norm not in SPEAKER_NORMS:
            raise HeadError(path, f"unknown speaker normalisation {self.speaker_norm!r}")
        # share of the clip classifier's log-probabilities in the speaker mode (heads
        # trained before it existed name none: the speaker classifier alone)
        self.speaker_clip_weight = spk_cfg.get("clip_weight", 0.0)
        w = self.speaker_clip_weight
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w < 1:
            raise HeadError(path, f"classifiers.speaker.clip_weight must be in [0, 1), got {w!r}")
        # fitted on held-out predictions (see MODEL_CARD.md); one per classifier
        self.temperature = config_temperature(config, "temperature", path)
        self.temperature_speaker = config_temperature(config, "temperature_speaker", path)
        self.trim = bool(config["input"].get("trim_silence", False))
        gate = dict(DEFAULT_GATE, **(config.get("outlier_gate") or {}))
        if not 0 <= gate["ok"] < gate["max"] <= 1 or not 0 < gate["floor"] <= 1:
            raise HeadError(path, f"outlier_gate needs 0 <= ok < max <= 1, 0 < floor <= 1: {gate}")
        self.gate = gate
        self.reliability = (config.get("reliability") or {}).get("skill")

    @classmethod
    def load(cls, directory: str | Path | None = None) -> SpeechHead:
        d = Path(directory) if directory is not None else default_dir()
        cfg, tensors = load_bundle(d, "speech")
        return cls(cfg, tensors, d / "speech.json")

    def features(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Feature vector ``[D]`` of one mono clip (float32 in [-1, 1] at ``sample_rate`` Hz)."""
        return speech_features(samples, sample_rate, self.feature_sets, trim=self.trim)

    def features_from_file(self, path: str | Path) -> np.ndarray:
        """Feature vector ``[D]`` of an audio file or a video's audio track (raises MediaError)."""
        from mmemo.media import read_audio

        audio = read_audio(path, sample_rate=SAMPLE_RATE, mono=True)
        return self.features(audio.samples, audio.sample_rate)

    def outlier_fraction(self, features: np.ndarray) -> np.ndarray:
        """Per row, the share of features beyond 3 training standard deviations ``[N]``."""
        x = np.atleast_2d(np.asarray(features, dtype=np.float32))
        return (np.abs((x - self.clip.mean) / self.clip.scale) > 3).mean(axis=1)

    def weight_gate(self, outlier_fraction: float) -> float:
        """Fusion weight factor: 1 up to ``ok`` outliers, falling linearly to ``floor`` at ``max``."""
        g = self.gate
        value = (g["max"] - outlier_fraction) / (g["max"] - g["ok"])
        return float(min(1.0, max(g["floor"], value)))

    def predict_proba(
        self, features: np.ndarray, speakers: Sequence[Any] | None = None
    ) -> np.ndarray:
        """Probabilities ``[N, 8]`` over :attr:`labels`.

        With ``speakers`` (one id per row), features are normalised per speaker and the
        speaker-normalised classifier is used, its log-probabilities mixed with a share
        ``speaker_clip_weight`` of the single-clip classifier's
        (:func:`~mmemo.heads.voice.learn.speaker_mode_logits`): only for several clips per
        speaker (a speaker with one clip falls back to the single-clip classifier).
        """
        x = np.atleast_2d(np.asarray(features, dtype=np.float32))
        probs = self.clip.predict_proba(x, self.temperature)
        if speakers is None:
            return probs
        spk = np.asarray([str(s) for s in speakers])
        many = np.isin(spk, [s for s in np.unique(spk) if (spk == s).sum() > 1])
        if many.any():
            from mmemo.heads.voice.learn import speaker_mode_logits

            xn = speaker_normalise(x[many], spk[many], self.speaker_norm)
            logits = speaker_mode_logits(
                self.clip.logits(x[many]), self.speaker.logits(xn), self.speaker_clip_weight
            )
            probs[many] = softmax(logits / self.temperature_speaker)
        return probs
