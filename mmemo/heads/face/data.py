"""FER2013 and CK+48 as arrays of 48x48 face crops with face-head label indices."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmemo.heads.face.model import FACE_LABELS
from mmemo.heads.report import log

FER_CLASSES = FACE_LABELS[:7]  # FER2013 folder names, in head output order


CK_TO_HEAD = {
    "anger": "angry",
    "contempt": "contempt",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happy",
    "sadness": "sad",
    "surprise": "surprise",
}


CK_HEAD_IDX = sorted(FACE_LABELS.index(v) for v in CK_TO_HEAD.values())  # the 7 CK+ outputs


def _read_gray_folder(folder: Path, pattern: str) -> tuple[list[np.ndarray], list[str]]:
    from PIL import Image

    from mmemo.heads.face.crop import to_face_input

    images, names = [], []
    for f in sorted(folder.glob(pattern)):
        try:
            with Image.open(f) as im:
                images.append(to_face_input(np.asarray(im.convert("L"))))
            names.append(f.name)
        except (OSError, ValueError) as exc:
            log(f"skip {f}: {exc}")
    return images, names


def face_data(data: Path, cache: Path) -> dict[str, np.ndarray]:
    """FER2013 train/publictest and CK+48 as uint8 ``[N, 48, 48]`` with head-label indices.

    Keys: ``fer_train_x/y``, ``fer_publictest_x/y``, ``ck_x/y``, ``ck_subject``.
    """
    path = cache / "faces.npz"
    if path.is_file():
        log(f"face images from cache {path}")
        return dict(np.load(path))
    out: dict[str, np.ndarray] = {}
    for split in ("train", "publictest"):
        xs, ys = [], []
        for ci, c in enumerate(FER_CLASSES):
            imgs, _ = _read_gray_folder(data / "fer2013" / split / c, "*.jpg")
            xs += imgs
            ys += [ci] * len(imgs)
        out[f"fer_{split}_x"], out[f"fer_{split}_y"] = np.stack(xs), np.array(ys)
    xs, ys, subj = [], [], []
    for folder, head_label in CK_TO_HEAD.items():
        imgs, names = _read_gray_folder(data / "ckplus48" / folder, "*.png")
        xs += imgs
        ys += [FACE_LABELS.index(head_label)] * len(imgs)
        subj += [n.split("_")[0] for n in names]
    out["ck_x"], out["ck_y"], out["ck_subject"] = np.stack(xs), np.array(ys), np.array(subj)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out
