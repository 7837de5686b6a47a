"""What the voice head reads: openSMILE functionals of a clip's speech, and their normalisation.

- :func:`trim_silence` cuts leading and trailing silence, so a clip's functionals describe
  its speech and not how long the recorder ran (RAVDESS clips carry about 1 s of silence at
  each end, ASED and EmoDB almost none).
- :func:`speech_features` is the feature vector: openSMILE ComParE_2016 (6373) and/or
  eGeMAPSv02 (88) functionals, concatenated, in openSMILE's own units.
- :func:`speaker_normalise` normalises features within each speaker's clips (z-scores or
  ranks mapped to normal quantiles); it removes the speaker's voice, microphone and language
  level, which is what lets the head carry over to corpora it never heard.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

SAMPLE_RATE = 16000
FEATURE_SETS = ("ComParE_2016", "eGeMAPSv02")
SPEAKER_NORMS = ("zscore", "rank_gauss")
TRIM_TOP_DB = 35.0  # frames quieter than the clip's loudest by more than this are silence
TRIM_PAD_S = 0.05


def trim_silence(
    samples: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    top_db: float = TRIM_TOP_DB,
    pad_s: float = TRIM_PAD_S,
) -> np.ndarray:
    """``samples`` without leading/trailing frames ``top_db`` below the loudest 25 ms frame.

    ``pad_s`` of context is kept at each end. A clip with no frame above the threshold (or
    shorter than two frames) is returned unchanged.
    """
    x = np.asarray(samples, dtype=np.float32)
    frame = max(1, int(0.025 * sample_rate))
    hop = max(1, int(0.010 * sample_rate))
    if x.size < 2 * frame:
        return x
    n = 1 + (x.size - frame) // hop
    idx = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    rms = np.sqrt(np.mean(x[idx] ** 2, axis=1) + 1e-12)
    db = 20 * np.log10(rms / rms.max())
    loud = np.flatnonzero(db > -top_db)
    if loud.size == 0:
        return x
    pad = int(pad_s * sample_rate)
    start = max(0, loud[0] * hop - pad)
    stop = min(x.size, loud[-1] * hop + frame + pad)
    return x[start:stop]


def speech_features(
    samples: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    feature_sets: Sequence[str] = FEATURE_SETS,
    trim: bool = False,
) -> np.ndarray:
    """openSMILE functionals of one clip, concatenated: float32 ``[D]``.

    ``samples`` is mono float32 in [-1, 1] at ``sample_rate`` Hz (resampled to 16 kHz here
    when different). With ``trim``, leading/trailing silence is cut first
    (:func:`trim_silence`). ComParE_2016 gives 6373 values, eGeMAPSv02 88 (their own units:
    Hz, dB, semitones, ratios); the head's scaler standardises them.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono samples [n], got shape {x.shape}")
    if sample_rate != SAMPLE_RATE:
        import soxr

        x = soxr.resample(x, sample_rate, SAMPLE_RATE).astype(np.float32)
    if trim:
        x = trim_silence(x, SAMPLE_RATE)
    if x.size < SAMPLE_RATE // 10:
        raise ValueError(f"clip too short for speech features ({x.size} samples, need >= 0.1 s)")
    parts = [_smile(name).process_signal(x, SAMPLE_RATE).to_numpy()[0] for name in feature_sets]
    return np.nan_to_num(np.concatenate(parts).astype(np.float32))


_SMILES: dict[str, Any] = {}


def _smile(name: str) -> Any:
    import opensmile

    if name not in _SMILES:
        _SMILES[name] = opensmile.Smile(
            feature_set=getattr(opensmile.FeatureSet, name),
            feature_level=opensmile.FeatureLevel.Functionals,
        )
    return _SMILES[name]


def speaker_normalise(
    x: np.ndarray, speakers: Sequence[Any], method: str = "zscore", eps: float = 1e-6
) -> np.ndarray:
    """Normalise each feature within each speaker's clips (``[N, D]`` -> ``[N, D]``).

    ``zscore``: subtract the speaker's mean, divide by the speaker's standard deviation.
    ``rank_gauss``: replace each value by its rank among the speaker's clips (ties share the
    mean rank), mapped to a standard-normal quantile ``Phi^-1((rank - 0.5) / n)``. Mean ranks
    for ties matter: ranks in input order would leak whatever order the clips came in.

    A speaker with one clip gets all zeros (no information beyond the speaker's own level),
    so use this only when several clips per speaker are predicted together. Any grouping
    works as "speaker": a corpus, a session, a batch of files from one source.
    """
    if method not in SPEAKER_NORMS:
        raise ValueError(f"unknown speaker normalisation {method!r}; use one of {SPEAKER_NORMS}")
    x = np.asarray(x, dtype=np.float32)
    out = np.empty_like(x)
    spk = np.asarray([str(s) for s in speakers])
    if spk.shape[0] != x.shape[0]:
        raise ValueError(f"{x.shape[0]} feature rows but {spk.shape[0]} speakers")
    for s in np.unique(spk):
        m = spk == s
        if method == "zscore":
            mu = x[m].mean(axis=0)
            sd = x[m].std(axis=0)
            out[m] = (x[m] - mu) / (sd + eps)
        else:
            from scipy.special import ndtri
            from scipy.stats import rankdata

            n = int(m.sum())
            ranks = rankdata(x[m], method="average", axis=0)
            out[m] = ndtri((ranks - 0.5) / n) if n > 1 else 0.0
    return out
