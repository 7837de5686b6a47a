"""ASED (Amharic Speech Emotion Dataset v1): labels from the file name ``xn-yy-aa-gg-bb``.

Layout: ``<src>/speaker_BB/xn-yy-aa-gg-bb.{wav,flac}``: emotion letter x (n neutral,
f fearful, h happy, s sad, a angry) and its source-folder digit n, sentence yy, repetition aa,
gender gg (01 female, 02 male), speaker bb.

Run: ``mmemo data convert ased /path/to/ASED_V1 ased.jsonl``
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mmemo.data.converters.base import ConvertReport, convert_named_audio

DATASET = "ased"
EMOTIONS = {"n": "neutral", "f": "fearful", "h": "happy", "s": "sad", "a": "angry"}
GENDERS = {"01": "female", "02": "male"}
_NAME_RE = re.compile(r"^([a-z])\d-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")


def parse_name(stem: str) -> dict[str, Any] | None:
    """The labels an ASED file name stem encodes, or None when it is not one."""
    m = _NAME_RE.match(stem)
    if m is None or m.group(1) not in EMOTIONS or m.group(4) not in GENDERS:
        return None
    return {
        "emotion": EMOTIONS[m.group(1)],
        "sentence": int(m.group(2)),
        "repetition": int(m.group(3)),
        "gender": GENDERS[m.group(4)],
        "speaker": f"ased_{m.group(5)}",
    }


def convert(src: str | Path, out: str | Path) -> ConvertReport:
    """Convert the ASED speaker folders to a manifest at ``out`` (rows under ``audio``)."""
    return convert_named_audio(
        src,
        out,
        DATASET,
        parse_name,
        "xn-yy-aa-gg-bb (emotion, sentence, repetition, gender, speaker)",
    )
