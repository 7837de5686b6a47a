"""RAVDESS: labels from the file name code ``MM-VV-EE-II-SS-RR-AA.<ext>``.

Reads every ``.wav``/``.flac``/``.mp4`` under the source folder (any depth, e.g. the
``Actor_NN`` folders of the Zenodo release), decodes the seven two-digit fields and writes
one row per file: audio-only files (modality 03) under ``audio``, full-AV (01) and
video-only (02) files under ``video``. Byte-identical copies (hashed with BLAKE2b) are
dropped after the first one in sorted path order and reported as skipped.

Run: ``mmemo data convert ravdess /path/to/ravdess ravdess.jsonl``
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from mmemo.data.converters.base import ConvertReport, ManifestWriter, require_source, source_files

DATASET = "ravdess"
EXTENSIONS = (".wav", ".flac", ".mp4")
MODALITIES = {1: "audio-video", 2: "video-only", 3: "audio-only"}
VOCAL_CHANNELS = {1: "speech", 2: "song"}
EMOTIONS = {
    1: "neutral",
    2: "calm",
    3: "happy",
    4: "sad",
    5: "angry",
    6: "fearful",
    7: "disgust",
    8: "surprised",
}
INTENSITIES = {1: "normal", 2: "strong"}
STATEMENTS = {1: "Kids are talking by the door", 2: "Dogs are sitting by the door"}
_CODE_RE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_ACTOR_DIR_RE = re.compile(r"^actor_(\d+)$", re.IGNORECASE)


def parse_code(stem: str) -> dict[str, Any]:
    """The labels a RAVDESS file name stem encodes; ValueError saying which field is wrong.

    >>> parse_code("03-01-05-02-01-02-12")["emotion"]
    'angry'
    """
    m = _CODE_RE.match(stem)
    if m is None:
        raise ValueError("file name is not a RAVDESS code MM-VV-EE-II-SS-RR-AA")
    mm, vv, ee, ii, ss, rr, aa = (int(g) for g in m.groups())
    fields = (
        ("modality", mm, MODALITIES),
        ("vocal channel", vv, VOCAL_CHANNELS),
        ("emotion", ee, EMOTIONS),
        ("intensity", ii, INTENSITIES),
        ("statement", ss, STATEMENTS),
        ("repetition", rr, {1: 1, 2: 2}),
    )
    for name, value, table in fields:
        if value not in table:
            raise ValueError(f"{name} code {value:02d} is not one of {sorted(table)}")
    if not 1 <= aa <= 24:
        raise ValueError(f"actor code {aa:02d} is outside 01-24")
    if ee == 1 and ii == 2:
        raise ValueError("neutral has no strong intensity (EE=01 with II=02)")
    return {
        "emotion": EMOTIONS[ee],
        "intensity": INTENSITIES[ii],
        "statement": STATEMENTS[ss],
        "repetition": rr,
        "actor": aa,
        "gender": "male" if aa % 2 else "female",
        "modality": MODALITIES[mm],
        "vocal_channel": VOCAL_CHANNELS[vv],
        "code": stem,
    }


def _digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def convert(src: str | Path, out: str | Path) -> ConvertReport:
    """Convert a RAVDESS folder to a manifest at ``out``.

    Row keys: ``audio`` or ``video``; ``statement`` (the spoken words; not a ``transcript``:
    the two statements are emotionally neutral by design); ``emotion``;
    ``intensity`` (normal/strong); ``statement``; ``repetition`` (1/2); ``speaker``
    (``Actor_NN``); ``actor`` (int); ``gender``; ``modality``; ``vocal_channel``; ``code``
    (the file name stem); ``dataset``.
    """
    root = require_source(src, "dir")
    seen: dict[str, Path] = {}
    with ManifestWriter(out) as writer:
        for path in source_files(root, EXTENSIONS):
            try:
                labels = parse_code(path.stem)
            except ValueError as exc:
                writer.skip(path, str(exc))
                continue
            folder = _ACTOR_DIR_RE.match(path.parent.name)
            if folder and int(folder.group(1)) != labels["actor"]:
                writer.skip(path, f"actor {labels['actor']:02d} in a folder of another actor")
                continue
            digest = _digest(path)
            if digest in seen:
                writer.skip(path, f"byte-identical duplicate of {seen[digest]}")
                continue
            seen[digest] = path
            media_key = "audio" if labels["modality"] == "audio-only" else "video"
            row = {
                "id": f"{DATASET}_{path.stem}",
                media_key: path,
                **labels,
                "speaker": f"Actor_{labels['actor']:02d}",
                "dataset": DATASET,
            }
            writer.write(row, str(path))
    return writer.report
