"""EmoDB (Berlin Database of Emotional Speech): labels from the file name, e.g. ``03a01Fa``.

Characters 1-2 speaker, 3-5 text code, 6 emotion (W anger, L boredom, N neutral, F happiness,
A fear, T sadness, E disgust), 7 version. Speakers 03, 10, 11, 12, 15 are male.

Run: ``mmemo data convert emodb /path/to/emodb emodb.jsonl``
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mmemo.data.converters.base import ConvertReport, convert_named_audio

DATASET = "emodb"
EMOTIONS = {
    "W": "angry",
    "L": "bored",
    "N": "neutral",
    "F": "happy",
    "A": "fearful",
    "T": "sad",
    "E": "disgust",
}
MALE = {"03", "10", "11", "12", "15"}
_NAME_RE = re.compile(r"^(\d{2})([a-z]\d{2})([A-Z])([a-z])$")


def parse_name(stem: str) -> dict[str, Any] | None:
    """The labels an EmoDB file name stem encodes, or None when it is not one."""
    m = _NAME_RE.match(stem)
    if m is None or m.group(3) not in EMOTIONS:
        return None
    return {
        "emotion": EMOTIONS[m.group(3)],
        "text": m.group(2),
        "version": m.group(4),
        "gender": "male" if m.group(1) in MALE else "female",
        "speaker": f"emodb_{m.group(1)}",
    }


def convert(src: str | Path, out: str | Path) -> ConvertReport:
    """Convert an EmoDB folder (``wav/`` or flat, ``.wav``/``.flac``) to a manifest at ``out``."""
    return convert_named_audio(
        src, out, DATASET, parse_name, "SSTTTEV (speaker, text, emotion, version)"
    )
