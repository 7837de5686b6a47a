"""Speaker sex from the spectral envelope (timbre) of voiced speech, not from F0.

Why: pitch level is judged against a male or a female F0 norm, and guessing which from F0
itself fails exactly when it matters: a raised male voice (anger, joy) has a female-like F0
and was judged "normal" or "low" against the female norm. The spectral envelope follows
vocal-tract length and shape, which arousal changes far less than F0.

Features: mel-frequency cepstral coefficients c1-c12 (26 mel bands 100-7000 Hz on 32 ms
Hann frames, log power, orthonormal DCT-II; c0, the level, is dropped), averaged over the
F0 track's voiced frames (at most 300, evenly spread). The F0 harmonics sit at quefrencies
above c12 for voices under ~400 Hz, so these coefficients carry the envelope, not the pitch.
Classifier: logistic regression on the standardised means, fitted on ASED (Amharic, 65
speakers) and EmoDB (German, 10 speakers) clips of known sex by
``benchmarks/validate_pitch_gender.py --fit`` (which prints :data:`MODEL`), and validated on
RAVDESS, which it never saw. A shortcut, not a speaker-sex model: expect errors on children,
unusual voices and recording chains far from these corpora.
"""

from __future__ import annotations

import numpy as np

from mmemo.encoders.pitch import SAMPLE_RATE, F0Track

N_MELS, N_CEPS, F_LO, F_HI, N_FFT = 26, 12, 100.0, 7000.0, 512

#: Standardisation and logistic-regression weights (p(male) = sigmoid(w . z + b)); see the
#: module docstring for how they were fitted. None of these numbers came from RAVDESS.
MODEL: dict[str, list[float] | float] = {
    "mean": [9.4638, 1.0999, 1.9573, 0.085, 0.0105, -1.1953, -0.6633, -0.9393, -0.3654, -0.3935, -0.5328, 0.11],
    "scale": [4.2552, 2.9694, 2.7557, 2.0685, 1.7488, 1.6232, 1.3015, 1.2119, 1.1671, 1.2665, 1.1622, 1.2265],
    "weights": [0.8209, -0.6131, -0.3362, 1.0721, 0.2841, 0.5154, -0.3954, -0.408, -0.4972, 0.8042, 0.7487, -0.7499],
    "bias": 0.106,
}  # fmt: skip


def _mel_filters(sr: int = SAMPLE_RATE) -> np.ndarray:
    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(F_LO), mel(F_HI), N_MELS + 2))
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / sr)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs - lo) / (mid - lo)
    down = (hi - freqs) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down))


def cepstral_means(
    x: np.ndarray, track: F0Track, sr: int = SAMPLE_RATE, max_frames: int = 300
) -> np.ndarray | None:
    """Mean MFCC c1-c12 over the voiced frames (shape [12]); None with fewer than 10."""
    from scipy.fft import dct

    hop, win = int(round(track.hop_s * sr)), int(round(0.032 * sr))
    voiced = np.flatnonzero(track.voiced)
    voiced = voiced[voiced * hop + win <= len(x)]
    if len(voiced) < 10:
        return None
    if len(voiced) > max_frames:
        voiced = voiced[np.linspace(0, len(voiced) - 1, max_frames).astype(int)]
    frames = np.stack([x[i * hop : i * hop + win] for i in voiced]).astype(np.float64)
    power = np.abs(np.fft.rfft(frames * np.hanning(win), N_FFT)) ** 2
    logmel = np.log(power @ _mel_filters(sr).T + 1e-10)
    ceps = dct(logmel, type=2, norm="ortho", axis=1)[:, 1 : N_CEPS + 1]
    return ceps.mean(axis=0)


def p_male(features: np.ndarray | None, model: dict | None = None) -> float | None:
    """Probability that the voice is male under :data:`MODEL` (None without features)."""
    if features is None:
        return None
    m = MODEL if model is None else model
    z = (np.asarray(features) - np.asarray(m["mean"])) / np.asarray(m["scale"])
    logit = float(z @ np.asarray(m["weights"]) + float(m["bias"]))
    return float(1.0 / (1.0 + np.exp(-logit)))
