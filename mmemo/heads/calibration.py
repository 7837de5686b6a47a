"""Temperature scaling and calibration error, shared by the heads' calibration steps.

One temperature ``T`` per classifier (probabilities = ``softmax(logits / T)``), fitted by
minimising the negative log-likelihood of predictions the classifier was not trained on.
``T`` leaves the argmax, hence accuracy and F1, unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

ECE_BINS = 15


def log_probs(probs: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """Log of probabilities ``[N, C]``; equal to the logits up to a per-row constant."""
    return np.log(np.maximum(np.asarray(probs, np.float64), floor))


def nll(logits: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood (nats) of labels ``y`` under ``softmax(logits / T)``."""
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(y)), y]))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The ``T`` in [0.05, 20] minimising :func:`nll` (bounded search over log T)."""
    from scipy.optimize import minimize_scalar

    if len(y) == 0:
        raise ValueError("no predictions to fit a temperature on")
    res = minimize_scalar(
        lambda lt: nll(logits, y, float(np.exp(lt))),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(res.x))


def choose_temperature(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``(T_nll, T)``: the NLL-optimal temperature and the one to ship.

    ``T`` is ``T_nll`` unless it raises the ECE on these same fit predictions, then 1.0: NLL
    is dominated by a few extreme logits (one RAVDESS clip has a logit range of ~1400), and a
    temperature that fixes those while miscalibrating the bulk is not wanted.
    """
    t = fit_temperature(logits, y)
    keep = ece(softmax_t(logits, t), y) <= ece(softmax_t(logits), y)
    return t, (t if keep else 1.0)


def ece(probs: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error of the top-1 confidence, ``bins`` equal-width bins (0..1)."""
    probs = np.asarray(probs, np.float64)
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(np.float64)
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(conf[m].mean() - correct[m].mean())
    return float(total / len(y))


def softmax_t(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / temperature
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def report(
    logits: np.ndarray, y: np.ndarray, temperature: float, t_nll: float | None = None
) -> dict[str, float]:
    extra = {} if t_nll is None else {"temperature_nll_fit": t_nll}
    return {
        "n": len(y),
        **extra,
        "ece_before": ece(softmax_t(logits), y),
        "ece_after": ece(softmax_t(logits, temperature), y),
        "nll_before": nll(logits, y),
        "nll_after": nll(logits, y, temperature),
    }


def rounded(d: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}


def write_temperature(heads: Path, name: str, result: dict[str, Any]) -> Path:
    """Merge the temperature keys and calibration record into ``<heads>/<name>.json``."""
    path = heads / f"{name}.json"
    cfg = json.loads(path.read_text())
    cfg.update(result)
    path.write_text(json.dumps(cfg, indent=2, sort_keys=False) + "\n")
    return path
