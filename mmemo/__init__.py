"""mmemo: multimodal emotion reasoning.

Measure cues (facial action units, prosody, frames) from raw media, train backbones
SFT-then-GRPO with rewards that check what the model says, and predict emotions offline.

``import mmemo`` is deliberately light: it imports none of torch, transformers, trl or
mediapipe. Public names are resolved lazily on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "MediaError": "mmemo.media",
    "probe": "mmemo.media",
    "read_audio": "mmemo.media",
    "read_frames": "mmemo.media",
    "read_image": "mmemo.media",
    "load_manifest": "mmemo.data.manifest",
    "validate_manifest": "mmemo.data.manifest",
    "Predictor": "mmemo.predict",
    "Prediction": "mmemo.prediction",
    "extract_cues": "mmemo.encoders.pipeline",
    "normalise_label": "mmemo.taxonomy",
    "load_wheels": "mmemo.taxonomy",
    "ew_score": "mmemo.metrics",
    "evaluate": "mmemo.evaluate",
    "finetune": "mmemo.finetune",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mmemo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
