"""Perturbed copies of training clips, so the voice head learns what survives a new voice and
microphone.

Each corpus records its speakers with one microphone at one level, so a classifier can learn
the corpus's level and colouring along with the emotion; a new corpus then reads as another
emotion (benchmarks/RESULTS.md: ASED's neutral read as sad). Training copies that change what a
new recording changes, and keep the emotion, take that shortcut away:

- ``speed_0.9`` / ``speed_1.1``: the clip resampled to play 10 % slower / faster, which moves
  pitch and formants by the same factor (a lower or higher voice, vocal-tract-length
  perturbation as in Ko et al. 2015) and the speaking rate with them;
- ``gain_eq``: a random level (-12 to +6 dB) and a random first-order colouring, a low-pass
  (dull microphone, distance) or a pre-emphasis high-pass (thin microphone);
- ``noise``: white or low-pass noise at a random SNR of 15-35 dB.

The random draws depend only on the augmentation and the clip's file name, so a copy is the
same on every machine and in every run. Copies are for training only: a clip is never scored
on its own copy (:mod:`mmemo.heads.voice.learn` keeps each copy with its speaker's fold).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from mmemo.heads.voice.features import SAMPLE_RATE

AUGMENTATIONS = ("speed_0.9", "speed_1.1", "gain_eq", "noise")


def clip_seed(name: str, path: str | Path) -> int:
    """The seed of augmentation ``name`` for the clip at ``path`` (its folder and file name)."""
    p = Path(path)
    return zlib.crc32(f"{name}:{p.parent.name}/{p.name}".encode())


def augment(samples: np.ndarray, name: str, seed: int) -> np.ndarray:
    """The clip ``samples`` (mono float32 at 16 kHz) perturbed by augmentation ``name``."""
    from scipy.signal import lfilter

    x = np.asarray(samples, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if name.startswith("speed_"):
        import soxr

        factor = float(name.removeprefix("speed_"))
        # read at factor x the rate, written at the rate: 1/factor as long, pitch x factor
        return soxr.resample(x, SAMPLE_RATE * factor, SAMPLE_RATE).astype(np.float32)
    if name == "gain_eq":
        gain_db = rng.uniform(-12.0, 6.0)
        if rng.random() < 0.5:
            a = rng.uniform(0.3, 0.7)
            y = lfilter([1.0 - a], [1.0, -a], x)  # one-pole low-pass
        else:
            b = rng.uniform(0.3, 0.9)
            y = np.concatenate([x[:1], x[1:] - b * x[:-1]])  # pre-emphasis
        peak = np.abs(x).max()
        y = y / (np.abs(y).max() + 1e-9) * peak * 10 ** (gain_db / 20)
        return np.clip(y, -1.0, 1.0).astype(np.float32)
    if name == "noise":
        snr_db = rng.uniform(15.0, 35.0)
        n = rng.standard_normal(x.size)
        if rng.random() < 0.5:
            n = lfilter([1.0], [1.0, -0.95], n)
        power = np.mean(x**2) + 1e-12
        n *= np.sqrt(power / 10 ** (snr_db / 10) / (np.mean(n**2) + 1e-12))
        return np.clip(x + n, -1.0, 1.0).astype(np.float32)
    raise ValueError(f"unknown augmentation {name!r}; use one of {AUGMENTATIONS}")
