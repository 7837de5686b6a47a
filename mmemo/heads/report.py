"""Small helpers the head trainers share: a timestamped log line, UAR, mean +- std."""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def log(msg: str) -> None:
    """Print ``[HH:MM:SS] msg`` at once (progress of long head-training runs)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def uar(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean([(pred[y == c] == c).mean() for c in np.unique(y)]))


def mean_std(values: list[float]) -> dict[str, Any]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "folds": values}
