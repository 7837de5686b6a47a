"""Transcripts from speech, offline: pocketsphinx (default) or a local Whisper model.

- ``pocketsphinx`` (the ``asr`` extra, BSD-2): US-English acoustic model, language model and
  dictionary ship inside the wheel, so it runs with no download. Good on clear read speech,
  weak on conversational or noisy speech (its word error rate on the project's espeak-ng
  test sentences is measured in ``tests/test_asr.py``).
- Whisper through ``transformers`` when the user names a local folder or a model already in
  the Hugging Face cache (``--asr PATH_OR_ID``, ``--language``); nothing is downloaded.

A transcriber is a callable ``(samples float32 [n] at 16 kHz) -> str``. :func:`load_asr` picks
one; :class:`AsrUnavailable` says what to install or provide. Transcripts feed the text head;
a transcript the user or manifest gives is never replaced (see :mod:`mmemo.predict`).

Run: ``mmemo predict clip.mp4 --asr`` or ``--asr path/to/whisper`` (``mmemo predict --help``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16000
POCKETSPHINX = "pocketsphinx"


class AsrUnavailable(RuntimeError):
    """The requested speech recogniser cannot be used here (message says what to provide)."""


class PocketSphinxASR:
    """pocketsphinx's bundled US-English models; ``language`` must be English."""

    name = POCKETSPHINX

    def __init__(self, language: str | None = None) -> None:
        if language and language.lower().split("-")[0] not in ("en", "english"):
            raise AsrUnavailable(
                f"pocketsphinx ships an English model only (asked for {language!r}); "
                "give --asr a Whisper model folder for other languages"
            )
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise AsrUnavailable(
                "speech recognition needs the asr extra: pip install 'mmemo[asr]' "
                "(pocketsphinx, models included)"
            ) from exc
        self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")

    def __call__(self, samples: np.ndarray) -> str:
        x = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
        if x.size < SAMPLE_RATE // 10:
            return ""
        d = self._decoder
        d.start_utt()
        d.process_raw((x * 32767).astype(np.int16).tobytes(), full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return " ".join((hyp.hypstr if hyp is not None else "").split())


class WhisperASR:
    """A Whisper model (local folder or cached hub id) through the transformers pipeline."""

    def __init__(self, model: str | Path, language: str | None = None) -> None:
        self.name = f"whisper:{model}"
        self.language = language
        try:
            from transformers import AutoModelForSpeechSeq2Seq, AutoProcessor, pipeline
        except ImportError as exc:  # pragma: no cover - transformers is a core dependency
            raise AsrUnavailable("Whisper needs transformers") from exc
        try:  # local folder or cache only: never a download
            net = AutoModelForSpeechSeq2Seq.from_pretrained(str(model), local_files_only=True)
            proc = AutoProcessor.from_pretrained(str(model), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise AsrUnavailable(
                f"cannot load the speech recogniser {str(model)!r} offline ({exc}). Give a "
                "local Whisper folder (config.json, weights, tokenizer, preprocessor_config.json)"
                " or an id already in the Hugging Face cache; nothing is downloaded"
            ) from exc
        self._pipe = pipeline(
            "automatic-speech-recognition", model=net, tokenizer=proc.tokenizer,
            feature_extractor=proc.feature_extractor, device="cpu",
        )  # fmt: skip

    def __call__(self, samples: np.ndarray) -> str:
        x = np.asarray(samples, dtype=np.float32)
        if x.size < SAMPLE_RATE // 10:
            return ""
        kwargs: dict[str, Any] = {}
        if self.language:
            kwargs["generate_kwargs"] = {"language": self.language, "task": "transcribe"}
        out = self._pipe({"raw": x, "sampling_rate": SAMPLE_RATE}, **kwargs)
        return " ".join(str(out.get("text", "")).split())


def load_asr(spec: str | None, language: str | None = None) -> Any:
    """``None``/``"none"``: no recogniser; ``"pocketsphinx"``: the bundled one; anything else
    names a Whisper model (folder or cached id). Raises :class:`AsrUnavailable`."""
    if spec is None or str(spec).lower() in ("", "none", "off"):
        return None
    if str(spec).lower() in (POCKETSPHINX, "default"):
        return PocketSphinxASR(language)
    return WhisperASR(spec, language)
