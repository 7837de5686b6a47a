"""The on-disk format of a head and the numpy classifier inside most heads.

Each head is one ``<name>.safetensors`` file (the weights, float32) plus one ``<name>.json``
config (labels, the input features it expects, the architecture, the sha256 of the weights,
training provenance). Loading checks the file exists and its checksum before use, so a
missing or corrupt bundle fails early with the file named.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


class HeadError(Exception):
    """A head bundle is missing, corrupt or inconsistent. ``path`` names the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_bundle(
    directory: str | Path, name: str, config: dict[str, Any], tensors: dict[str, np.ndarray]
) -> Path:
    """Write ``<name>.safetensors`` (float32 tensors) and ``<name>.json`` (config + sha256)."""
    from safetensors.numpy import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    weights = d / f"{name}.safetensors"
    save_file(
        {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}, str(weights)
    )
    weights.chmod(0o644)  # safetensors writes 0600; shipped files must be world-readable
    cfg = dict(config)
    cfg["weights"] = weights.name
    cfg["sha256"] = _sha256(weights)
    (d / f"{name}.json").write_text(json.dumps(cfg, indent=2, sort_keys=False) + "\n")
    return weights


def load_bundle(directory: str | Path, name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a bundle written by :func:`save_bundle`; verify the checksum.

    Raises:
        HeadError: missing config or weights, bad JSON, checksum mismatch.
    """
    from safetensors.numpy import load_file

    d = Path(directory)
    cfg_path = d / f"{name}.json"
    if not cfg_path.is_file():
        raise HeadError(cfg_path, f"head config not found (no '{name}' head in {d})")
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise HeadError(cfg_path, f"not valid JSON ({exc})") from exc
    weights = d / cfg.get("weights", f"{name}.safetensors")
    if not weights.is_file():
        raise HeadError(weights, "weights file named by the config is missing")
    if cfg.get("sha256") and _sha256(weights) != cfg["sha256"]:
        raise HeadError(weights, "sha256 does not match the config (corrupt or replaced file)")
    return cfg, load_file(str(weights))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``[N, C]`` logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class MLP:
    """A standardise -> (Linear -> ReLU)* -> Linear classifier, inference in numpy.

    ``mean``/``scale`` standardise the input features; ``weights[i]`` is ``[in, out]``.
    Zero hidden layers is multinomial logistic regression.
    """

    mean: np.ndarray
    scale: np.ndarray
    weights: list[np.ndarray]
    biases: list[np.ndarray]

    def logits(self, x: np.ndarray) -> np.ndarray:
        h = (np.asarray(x, dtype=np.float32) - self.mean) / self.scale
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return h

    def predict_proba(self, x: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Probabilities ``[N, C]`` for features ``[N, D]``: ``softmax(logits / temperature)``."""
        x = np.atleast_2d(x)
        if x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"expected {self.mean.shape[0]} features, got {x.shape[1]}")
        return softmax(self.logits(x) / temperature)

    def to_tensors(self, prefix: str) -> dict[str, np.ndarray]:
        t = {f"{prefix}.mean": self.mean, f"{prefix}.scale": self.scale}
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            t[f"{prefix}.w{i}"] = w
            t[f"{prefix}.b{i}"] = b
        return t

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], prefix: str) -> MLP:
        n = sum(1 for k in tensors if k.startswith(f"{prefix}.w"))
        if n == 0 or f"{prefix}.mean" not in tensors:
            raise KeyError(f"no MLP '{prefix}' in the weights")
        return cls(
            mean=tensors[f"{prefix}.mean"],
            scale=tensors[f"{prefix}.scale"],
            weights=[tensors[f"{prefix}.w{i}"] for i in range(n)],
            biases=[tensors[f"{prefix}.b{i}"] for i in range(n)],
        )

    @classmethod
    def from_sklearn(cls, scaler: Any, model: Any) -> MLP:
        """From a fitted ``StandardScaler`` and ``LogisticRegression`` or ``MLPClassifier``."""
        if hasattr(model, "coefs_"):
            weights = [np.asarray(w, np.float32) for w in model.coefs_]
            biases = [np.asarray(b, np.float32) for b in model.intercepts_]
        else:
            weights = [np.asarray(model.coef_.T, np.float32)]
            biases = [np.asarray(model.intercept_, np.float32)]
        return cls(
            np.asarray(scaler.mean_, np.float32),
            np.asarray(scaler.scale_, np.float32),
            weights,
            biases,
        )


def default_dir() -> Path:
    """The folder of the shipped default heads (``checkpoints/default``)."""
    from mmemo.resources import checkpoints_dir

    return checkpoints_dir() / "default"


def config_temperature(cfg: dict[str, Any], key: str, path: Path) -> float:
    """Calibration temperature ``cfg[key]`` (logits are divided by it); 1.0 when absent."""
    t = cfg.get(key, 1.0)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < float("inf"):
        raise HeadError(path, f"'{key}' must be a positive number, got {t!r}")
    return float(t)


def config_labels(cfg: dict[str, Any], expected: Sequence[str], path: Path) -> tuple[str, ...]:
    """The head's labels; a head from ``mmemo finetune`` (``custom_labels``) has its own set."""
    labels = tuple(cfg.get("labels", ()))
    if cfg.get("custom_labels"):
        if len(labels) < 2:
            raise HeadError(path, f"a head needs at least 2 labels, config has {len(labels)}")
        return labels
    if len(labels) != len(expected):
        raise HeadError(path, f"expected {len(expected)} labels, config has {len(labels)}")
    return labels
