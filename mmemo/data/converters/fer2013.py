"""FER2013, from class folders or from the original ``fer2013.csv``.

Folder layout: ``<src>/<split>/<class>/*.jpg`` with split folders such as ``train``,
``publictest``, ``privatetest`` (the split comes from the folder name), or a single split
folder ``<src>/<class>/*.jpg`` (the split comes from ``<src>``'s own name). Classes: angry,
disgust, fear, happy, neutral, sad, surprise.

CSV layout (the Kaggle release): columns ``emotion`` (0 angry, 1 disgust, 2 fear, 3 happy,
4 sad, 5 surprise, 6 neutral), ``pixels`` (2304 space-separated grey levels 0-255, a 48x48
image in row-major order) and ``Usage`` (Training / PublicTest / PrivateTest). Each row's
image is written as a PNG into ``<OUT's folder>/<OUT's stem>_images/<Usage>/``.

FER2013 has no subject ids, so rows carry no ``speaker``. Splits: Training -> train,
PublicTest -> val, PrivateTest -> test (the original name is kept in ``usage``).

Run: ``mmemo data convert fer2013 /path/to/fer2013 fer2013.jsonl`` (folder or CSV).
"""

from __future__ import annotations

from pathlib import Path

from mmemo.data.converters.base import (
    ConvertReport,
    ManifestWriter,
    as_int,
    read_csv,
    require_source,
    split_from_name,
)
from mmemo.media import IMAGE_EXTS

DATASET = "fer2013"
CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # CSV code order
SIDE = 48
_USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}


def convert(src: str | Path, out: str | Path) -> ConvertReport:
    """Convert FER2013 class folders or ``fer2013.csv`` to a manifest at ``out``.

    Row keys: ``image``; ``emotion``; ``split`` (train/val/test); ``usage`` (the FER2013
    name of the split); ``dataset``; from the CSV also ``csv_row`` (1-based data row).
    """
    root = require_source(src)
    with ManifestWriter(out) as writer:
        if root.is_file():
            _convert_csv(root, writer)
        else:
            _convert_folders(root, writer)
    return writer.report


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and p.name.lower() in CLASSES)


def _convert_folders(root: Path, writer: ManifestWriter) -> None:
    if _class_folders(root):
        split_dirs = [root]
    else:
        split_dirs = sorted(p for p in root.iterdir() if p.is_dir())
    for split_dir in split_dirs:
        split = split_from_name(split_dir.name)
        if split is None:
            writer.skip(split_dir, "folder name names no split (train/publictest/privatetest)")
            continue
        for other in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            if other.name.lower() not in CLASSES:
                writer.skip(other, f"unknown class folder (expected one of {CLASSES})")
        for class_dir in _class_folders(split_dir):
            label = class_dir.name.lower()
            for path in sorted(class_dir.iterdir()):
                if path.suffix.lower() not in IMAGE_EXTS:
                    continue
                # Names are not unique across class folders (two train names occur twice,
                # with different images), so the class is part of the id.
                row = {
                    "id": f"{DATASET}_{label}_{path.stem}",
                    "image": path,
                    "emotion": label,
                    "split": split,
                    "usage": _USAGE[split],
                    "dataset": DATASET,
                }
                writer.write(row, str(path))


def _convert_csv(path: Path, writer: ManifestWriter) -> None:
    import numpy as np
    from PIL import Image

    image_dir = writer.out.parent / f"{writer.out.stem}_images"
    for ref, row in read_csv(path, ("emotion", "pixels"), writer):
        index = int(ref.rsplit(":", 1)[1]) - 1  # data row number (line 1 is the header)
        try:
            code = as_int(row["emotion"], "emotion")
            if not 0 <= code < len(CLASSES):
                raise ValueError(f"emotion code {code} is outside 0-6")
            values = row["pixels"].split()
            if len(values) != SIDE * SIDE:
                raise ValueError(f"expected {SIDE * SIDE} pixel values, got {len(values)}")
            pixels = np.array([int(v) for v in values], dtype=np.int64)
            if pixels.min() < 0 or pixels.max() > 255:
                raise ValueError("pixel values outside 0-255")
        except ValueError as exc:
            writer.skip(ref, str(exc))
            continue
        usage = row.get("Usage") or "Training"
        split = split_from_name(usage)
        if split is None:
            writer.skip(ref, f"unknown Usage {usage!r}")
            continue
        image_path = image_dir / usage / f"{index:05d}.png"
        image_path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels.astype(np.uint8).reshape(SIDE, SIDE)).save(image_path)
        out_row = {
            "id": f"{DATASET}_{usage}_{index:05d}",
            "image": image_path,
            "emotion": CLASSES[code],
            "split": split,
            "usage": usage,
            "csv_row": index,
            "dataset": DATASET,
        }
        writer.write(out_row, ref)
