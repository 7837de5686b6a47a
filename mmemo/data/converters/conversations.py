"""Emotion-in-conversation CSVs from the TV series *Friends*: MELD and EmoryNLP.

One row per utterance: ``transcript``, ``emotion``, ``speaker``, the dialogue/scene and
utterance ids, and the split from the file name (``train_sent_emo.csv`` -> train,
``emorynlp_dev_final.csv`` -> val). The source may be one CSV or a folder of them.

Video clips (distributed separately as ``MELD.Raw``) are attached only when found under
``media_dir``; otherwise the row is text-only. MELD dialogue ids restart in every split, so
for a folder that holds several splits the converter looks in the split's own subfolder
first (``train_splits``, ``dev_splits_complete``, ``output_repeated_splits_test``, or
``train``/``dev``/``val``/``test``) and only then in ``media_dir`` itself.

Run: ``mmemo data convert meld /path/to/meld meld.jsonl --media-dir /path/to/MELD.Raw``
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmemo.data.converters.base import (
    ConvertReport,
    ManifestWriter,
    as_int,
    find_media,
    parse_list,
    read_csv,
    require_source,
    snake,
    source_files,
    split_from_name,
)

_SPLIT_DIRS = {
    "train": ("train_splits", "train"),
    "val": ("dev_splits_complete", "dev_splits", "dev", "val"),
    "test": ("output_repeated_splits_test", "test_splits", "test"),
}


@dataclass(frozen=True)
class _Layout:
    dataset: str
    labels: tuple[str, ...]
    required: tuple[str, ...]
    int_columns: tuple[str, ...]
    # parsed row -> id suffix, and parsed row -> candidate clip file names
    row_id: Callable[[dict[str, Any]], str]
    videos: Callable[[dict[str, Any]], tuple[str, ...]]
    sentiments: tuple[str, ...] = ()


MELD = _Layout(
    dataset="meld",
    labels=("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"),
    required=("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID"),
    int_columns=("Sr No.", "Dialogue_ID", "Utterance_ID", "Season", "Episode"),
    row_id=lambda r: f"dia{r['dialogue_id']}_utt{r['utterance_id']}",
    videos=lambda r: (f"dia{r['dialogue_id']}_utt{r['utterance_id']}.mp4",),
    sentiments=("negative", "neutral", "positive"),
)

EMORYNLP = _Layout(
    dataset="emorynlp",
    labels=("joyful", "mad", "neutral", "peaceful", "powerful", "sad", "scared"),
    required=("Utterance", "Speaker", "Emotion", "Scene_ID", "Utterance_ID"),
    int_columns=("Scene_ID", "Utterance_ID", "Season", "Episode"),
    row_id=lambda r: (
        f"s{r.get('season', 'x')}_e{r.get('episode', 'x')}_c{r['scene_id']}_u{r['utterance_id']}"
    ),
    videos=lambda r: (
        f"sea{r.get('season')}_ep{r.get('episode')}_sc{r['scene_id']}_utt{r['utterance_id']}.mp4",
        f"dia{r['scene_id']}_utt{r['utterance_id']}.mp4",
    ),
)

# Source columns that become standard manifest keys.
_RENAME = {"Utterance": "transcript", "Speaker": "speaker", "Sr No.": "sr_no"}


def _parse_row(row: dict[str, str], layout: _Layout) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, value in row.items():
        key = _RENAME.get(column) or snake(column)
        if column in layout.int_columns and value != "":
            out[key] = as_int(value, column)
        elif value != "":
            out[key] = value
    if not out.get("transcript"):
        raise ValueError("empty Utterance")
    emotion = out.get("emotion", "").lower()
    if emotion not in layout.labels:
        raise ValueError(f"emotion {out.get('emotion')!r} is not one of {layout.labels}")
    out["emotion"] = emotion
    if "sentiment" in out and layout.sentiments:
        sentiment = out["sentiment"].lower()
        if sentiment not in layout.sentiments:
            raise ValueError(f"sentiment {out['sentiment']!r} is not one of {layout.sentiments}")
        out["sentiment"] = sentiment
    speakers = parse_list(out.get("speaker"))
    if not speakers:
        raise ValueError("empty Speaker")
    # EmoryNLP gives a list string like "['Monica Geller']"; one name is the usual case.
    out["speaker"] = " & ".join(speakers)
    if layout is EMORYNLP:
        out["speakers"] = speakers
    return out


def _media_folders(media_dir: Path | None, split: str | None) -> list[Path]:
    if media_dir is None:
        return []
    folders = [media_dir / name for name in _SPLIT_DIRS.get(split or "", ())]
    return [f for f in folders if f.is_dir()] + [media_dir]


def _convert(
    src: str | Path, out: str | Path, layout: _Layout, media_dir: str | Path | None
) -> ConvertReport:
    root = require_source(src)
    media_root = Path(media_dir) if media_dir is not None else None
    with ManifestWriter(out) as writer:
        for path in source_files(root, (".csv",)):
            split = split_from_name(path.name)
            tag = split or path.stem
            folders = _media_folders(media_root, split)
            for ref, raw in read_csv(path, layout.required, writer):
                try:
                    row = _parse_row(raw, layout)
                except ValueError as exc:
                    writer.skip(ref, str(exc))
                    continue
                video = None
                for folder in folders:
                    video = find_media(folder, layout.videos(row))
                    if video is not None:
                        break
                manifest_row = {
                    "id": f"{layout.dataset}_{tag}_{layout.row_id(row)}",
                    "video": video,
                    **row,
                    "split": split,
                    "source_row": ref,
                    "dataset": layout.dataset,
                }
                writer.write(manifest_row, ref)
    return writer.report


def convert_meld(
    src: str | Path, out: str | Path, media_dir: str | Path | None = None
) -> ConvertReport:
    """Convert MELD ``*_sent_emo.csv`` files to a manifest at ``out``.

    Row keys: ``transcript``, ``emotion`` (anger, disgust, fear, joy, neutral, sadness,
    surprise), ``sentiment`` (negative/neutral/positive), ``speaker`` (character name),
    ``dialogue_id``, ``utterance_id``, ``season``, ``episode``, ``sr_no`` (ints),
    ``start_time``/``end_time`` (``HH:MM:SS,mmm`` strings as in the source), ``split``,
    ``source_row`` (``file:line``), ``dataset``, and ``video`` when the clip
    ``dia{D}_utt{U}.mp4`` exists under ``media_dir``.
    """
    return _convert(src, out, MELD, media_dir)


def convert_emorynlp(
    src: str | Path, out: str | Path, media_dir: str | Path | None = None
) -> ConvertReport:
    """Convert EmoryNLP ``emorynlp_*_final.csv`` files to a manifest at ``out``.

    Row keys: ``transcript``, ``emotion`` (joyful, mad, neutral, peaceful, powerful, sad,
    scared: the source labels lower-cased), ``speaker`` (names joined by `` & `` when an
    utterance has several), ``speakers`` (list), ``scene_id``, ``utterance_id``,
    ``season``, ``episode`` (ints), ``start_time``/``end_time``, ``split``, ``source_row``,
    ``dataset``, and ``video`` when ``sea{S}_ep{E}_sc{C}_utt{U}.mp4`` or
    ``dia{C}_utt{U}.mp4`` exists under ``media_dir``.
    """
    return _convert(src, out, EMORYNLP, media_dir)
