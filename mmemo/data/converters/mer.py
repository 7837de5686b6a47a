"""MER challenge label CSVs (MER2023 / MER2024 / MER2025 / OV-MERD).

Columns: ``name`` (the clip name), ``openset`` (open-vocabulary labels as a list string
such as ``"[happy, worried]"``) and/or ``discrete`` (one basic label), optionally
``valence`` (MER2023 annotates it on [-5, 5]; divided by ``valence_scale`` to reach
[-1, 1]) and a subtitle column (``english``, ``transcript``, ``text`` or ``subtitle``),
which becomes ``transcript``. Every other column is kept under its snake_case name.

The clip is ``<media_dir>/<name>.mp4`` (or ``.avi``) when that file exists. A row with
neither a clip nor a transcript has no input a model could read, so it is skipped.

Run: ``mmemo data convert mer track2_train_ovmerd.csv mer.jsonl --media-dir /path/to/video``
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from mmemo.data.converters.base import (
    ConvertReport,
    ManifestWriter,
    csv_header,
    extra_keys,
    find_media,
    first_key,
    parse_list,
    read_csv,
    require_source,
    source_files,
    split_from_name,
)

TRANSCRIPT_COLUMNS = ("english", "transcript", "text", "subtitle")
VIDEO_EXTS = (".mp4", ".avi")


def _labels(row: dict[str, str], valence_scale: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    emotions: list[str] = []
    for word in parse_list(row.get("openset")):
        word = word.lower()
        if word not in emotions:
            emotions.append(word)
    if emotions:
        out["emotions"] = emotions
    if row.get("discrete"):
        out["emotion"] = row["discrete"].strip().lower()
    if not out:
        raise ValueError("no labels (empty 'openset' and 'discrete')")
    if row.get("valence"):
        try:
            raw = float(row["valence"])
        except ValueError:
            raise ValueError(f"valence is not a number: {row['valence']!r}") from None
        if not math.isfinite(raw) or abs(raw) > valence_scale:
            raise ValueError(f"valence {raw} is outside [-{valence_scale}, {valence_scale}]")
        out["valence"] = raw / valence_scale
        out["valence_raw"] = raw
    return out


def convert(
    src: str | Path,
    out: str | Path,
    media_dir: str | Path | None = None,
    dataset: str = "mer",
    valence_scale: float = 5.0,
) -> ConvertReport:
    """Convert MER label CSVs (one file or a folder of them) to a manifest at ``out``.

    Row keys: ``video`` (when found under ``media_dir``), ``transcript`` (when the CSV has
    a subtitle column), ``emotions`` (open-vocabulary list, lower-cased, duplicates
    removed), ``emotion`` (from ``discrete``), ``valence`` in [-1, 1] and ``valence_raw``
    (as in the CSV), ``name``, ``split`` (from the file name, when it names one),
    ``source_row``, ``dataset`` (``dataset`` argument, e.g. ``mer2023``).
    """
    if valence_scale <= 0:
        raise ValueError("valence_scale must be positive")
    root = require_source(src)
    media_root = Path(media_dir) if media_dir is not None else None
    with ManifestWriter(out) as writer:
        for path in source_files(root, (".csv",)):
            header = csv_header(path)
            if header is not None and not {"openset", "discrete"} & set(header):
                writer.skip(path, "missing column(s): needs 'openset' or 'discrete'")
                continue
            split = split_from_name(path.name)
            for ref, row in read_csv(path, ("name",), writer):
                name = row["name"]
                if not name:
                    writer.skip(ref, "empty 'name'")
                    continue
                try:
                    labels = _labels(row, valence_scale)
                except ValueError as exc:
                    writer.skip(ref, str(exc))
                    continue
                stem = Path(name).stem if Path(name).suffix.lower() in VIDEO_EXTS else name
                names = [name] if stem != name else []
                video = find_media(media_root, names + [stem + ext for ext in VIDEO_EXTS])
                _, transcript = first_key(row, TRANSCRIPT_COLUMNS)
                if video is None and not transcript:
                    where = f"under {media_root}" if media_root else "(no media_dir given)"
                    writer.skip(ref, f"no clip {stem}.mp4/.avi {where} and no transcript")
                    continue
                consumed = ("openset", "discrete", "valence", *TRANSCRIPT_COLUMNS)
                manifest_row = {
                    **extra_keys(row, consumed),
                    "id": f"{dataset}_{stem}",
                    "video": video,
                    "transcript": transcript,
                    **labels,
                    "split": split,
                    "source_row": ref,
                    "dataset": dataset,
                }
                writer.write(manifest_row, ref)
    return writer.report
