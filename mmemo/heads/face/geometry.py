"""Face-shape evidence for the face head: where the face-mesh landmarks of a crop sit.

The face CNN reads pixels; this reads geometry. MediaPipe FaceMesh (478 points) runs on the
48x48 crop itself (upsampled to 256 px, as for any small image), the landmarks are frontalised
(head rotation undone, inter-ocular-distance units: :func:`mmemo.encoders.face.frontalise`)
and the x, y of every point (956 numbers) go into a logistic regression over the face head's 8
classes. Running the mesh on the crop, not on the original frame, keeps inference identical to
training (the training images are such crops).

The head combines both as a log-linear fusion, ``logits_cnn + weight * log p_geometry``;
crops where FaceMesh finds no face use the CNN alone. Measured by nested subject CV
(``benchmarks/select_face_stage_b.py --geometry-select``, see the model card): the fusion adds
0.1-1.0 points on FER2013 PublicTest (inner CVs) and is about neutral on CK+ (0.921 fused vs 0.928
for the CNN alone on the outer folds); the landmarks alone reach about 0.81 on CK+.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

N_POINTS = 478
GEOMETRY_DIM = 2 * N_POINTS  # x and y of every frontalised landmark


@functools.cache
def _mesher() -> Any:
    """One FaceMesh graph per process (building it costs ~0.2 s)."""
    from mmemo.encoders.face import FaceMesher

    return FaceMesher(video=False, max_faces=1)


def crop_landmarks(crops: np.ndarray, progress: bool = False) -> np.ndarray:
    """Frontalised landmarks ``[N, 478, 3]`` (float32) of uint8 gray crops ``[N, H, W]``;
    rows are NaN where FaceMesh finds no face."""
    from mmemo.encoders.face import frontalise

    x = np.asarray(crops)
    if x.ndim == 2:
        x = x[None]
    out = np.full((len(x), N_POINTS, 3), np.nan, np.float32)
    mesher = _mesher()
    rows: Any = range(len(x))
    if progress:
        from tqdm.auto import tqdm

        rows = tqdm(rows, desc="face landmarks", unit="img")
    for i in rows:
        faces = mesher(np.repeat(np.ascontiguousarray(x[i], dtype=np.uint8)[..., None], 3, axis=2))
        if faces:
            out[i] = frontalise(faces[0]).astype(np.float32)
    return out


def geometry_features(frontal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(features [N, 956], found [N] bool)`` from frontalised landmarks ``[N, 478, 3]``.

    Rows without landmarks (NaN) get zero features and ``found`` False."""
    lm = np.asarray(frontal, dtype=np.float32)
    found = ~np.isnan(lm[:, :, :2]).any(axis=(1, 2))
    feats = np.nan_to_num(lm[:, :, :2].reshape(len(lm), GEOMETRY_DIM))
    return feats, found


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def fuse(cnn_logits: np.ndarray, geometry_logp: np.ndarray, found: np.ndarray, weight: float):
    """``cnn_logits + weight * geometry_logp`` on rows with landmarks, the CNN alone elsewhere."""
    out = np.array(cnn_logits, dtype=np.float64, copy=True)
    out[found] += weight * np.asarray(geometry_logp, dtype=np.float64)[found]
    return out


def fused_logits(
    cnn_logits: np.ndarray, geometry: Any | None, landmarks: np.ndarray | None, weight: float
) -> np.ndarray:
    """CNN logits fused with the log-probabilities of the ``geometry`` classifier (an
    :class:`~mmemo.heads.bundle.MLP`) on frontalised ``landmarks``; with no classifier or a
    zero weight, the CNN logits unchanged."""
    if geometry is None or weight == 0:
        return cnn_logits
    feats, found = geometry_features(landmarks)
    return fuse(cnn_logits, log_softmax(geometry.logits(feats)), found, weight)
