"""Corpus converters: a known corpus layout in, a manifest (JSONL) out.

``CONVERTERS`` maps a name to ``convert(src, out, **options) -> ConvertReport``; the CLI
runs ``mmemo data convert NAME SRC OUT.jsonl`` through :func:`convert`. One module per
corpus family:

| name | module | source |
|---|---|---|
| ``ravdess`` | ``ravdess`` | folders of ``MM-VV-EE-II-SS-RR-AA.{wav,flac,mp4}`` |
| ``ckplus`` | ``ckplus`` | class folders of ``S010_004_00000017.png`` |
| ``ased`` | ``ased`` | ``speaker_BB/xn-yy-aa-gg-bb.{wav,flac}`` (Amharic speech) |
| ``emodb`` | ``emodb`` | ``03a01Fa.{wav,flac}`` (German speech) |
| ``fer2013`` | ``fer2013`` | ``<split>/<class>/*.jpg`` folders or ``fer2013.csv`` |
| ``meld``, ``emorynlp`` | ``conversations`` | utterance CSVs (+ clips under ``media_dir``) |
| ``mer`` | ``mer`` | MER2023-2025 label CSVs (``name``, ``openset``, ``discrete``, ...) |
| ``mafw``, ``dfew`` | ``r1_omni`` | R1-Omni JSON (``video`` + ``conversations``) |
| ``facial_r1`` | ``facial_r1`` | FEA-20K JSONL (image, labels, AUs, description) |
| ``emotioncot`` | ``emotioncot`` | EmotionCoT JSONL (audio, emotion, prosody, reasoning) |

Options (all keyword): ``media_dir`` for every converter whose corpus ships media apart
from its labels (meld, emorynlp, mer, mafw, dfew, facial_r1, emotioncot); ``mer`` also
takes ``dataset`` and ``valence_scale``. Every corpus card in ``datasets/`` gives the exact
command. Converters need only the standard library at import time (numpy and Pillow load
inside the FER2013 CSV reader).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mmemo.data.converters import (
    ased,
    ckplus,
    conversations,
    emodb,
    emotioncot,
    facial_r1,
    fer2013,
    mer,
    r1_omni,
    ravdess,
)
from mmemo.data.converters.base import ConvertError, ConvertReport

CONVERTERS: dict[str, Callable[..., ConvertReport]] = {
    "ravdess": ravdess.convert,
    "ckplus": ckplus.convert,
    "ased": ased.convert,
    "emodb": emodb.convert,
    "fer2013": fer2013.convert,
    "meld": conversations.convert_meld,
    "emorynlp": conversations.convert_emorynlp,
    "mer": mer.convert,
    "mafw": r1_omni.convert_mafw,
    "dfew": r1_omni.convert_dfew,
    "facial_r1": facial_r1.convert,
    "emotioncot": emotioncot.convert,
}

__all__ = ["CONVERTERS", "ConvertError", "ConvertReport", "convert", "options_of"]


def options_of(name: str) -> list[str]:
    """The keyword options converter ``name`` accepts (besides ``src`` and ``out``)."""
    params = inspect.signature(_get(name)).parameters
    return [p for p in params if p not in ("src", "out")]


def convert(name: str, src: str | Path, out: str | Path, **options: Any) -> ConvertReport:
    """Run converter ``name``; options that are None are dropped (so a CLI can pass all flags).

    Raises :class:`ConvertError` for an unknown name, an option that converter does not take,
    or a source that does not exist.
    """
    given = {k: v for k, v in options.items() if v is not None}
    allowed = options_of(name)
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) or "no options"
        raise ConvertError(f"converter {name!r} does not take {unknown} (it takes: {takes})")
    return _get(name)(Path(src), Path(out), **given)


def _get(name: str) -> Callable[..., ConvertReport]:
    try:
        return CONVERTERS[name]
    except KeyError:
        raise ConvertError(
            f"unknown converter {name!r}; choose from {', '.join(CONVERTERS)}"
        ) from None
