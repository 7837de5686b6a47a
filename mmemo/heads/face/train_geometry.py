"""The face head's landmark-geometry classifier: landmarks of the training crops, its fit,
and the CNN + geometry fusion used when scoring fold models.

See :mod:`mmemo.heads.face.geometry` for the features and the fusion. The classifier is a
logistic regression on FER2013 train (a fixed random sample of ``GEO_FER_SAMPLE`` images with
landmarks) plus the CK+ training images, CK+ weighted ``GEO_CK_WEIGHT`` x. These three
settings were fixed before the nested selection; the fusion weight ``GEO_WEIGHT`` and the
WiSE-FT alpha of the CNN were chosen together by nested subject CV
(``benchmarks/select_face_stage_b.py --geometry-select``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

GEO_C = 0.1
GEO_CK_WEIGHT = 5.0  # CK+ has 774 images against thousands of FER ones
GEO_FER_SAMPLE = 8000
GEO_WEIGHT = 0.5  # logits_cnn + GEO_WEIGHT * log p_geometry
LANDMARK_SETS = ("ck", "fer_train", "fer_publictest")


def face_landmarks(faces: dict[str, np.ndarray], cache: Path) -> dict[str, np.ndarray]:
    """Frontalised FaceMesh landmarks ``[N, 478, 3]`` of CK+, FER train and PublicTest crops
    (NaN rows: no face found), cached as float16 under ``cache`` (~2 min to measure)."""
    from mmemo.heads.face.geometry import crop_landmarks

    path = cache / "face_landmarks_v1.npz"
    if path.is_file():
        with np.load(path) as z:
            cached = {k: z[k].astype(np.float32) for k in z.files}
        sizes = {k: len(faces[f"{k}_x"]) for k in LANDMARK_SETS}
        if all(k in cached and len(cached[k]) == n for k, n in sizes.items()):
            return cached
    # float16 as cached, and the same values returned: the run that measures them must train
    # on what every later run reads back, or a fresh cache gives another geometry classifier
    out = {k: crop_landmarks(faces[f"{k}_x"], progress=True).astype(np.float16)
           for k in LANDMARK_SETS}  # fmt: skip
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return {k: v.astype(np.float32) for k, v in out.items()}


def fit_geometry(
    faces: dict[str, np.ndarray], landmarks: dict[str, np.ndarray], ck_rows: np.ndarray
) -> Any:
    """The geometry classifier (an :class:`~mmemo.heads.bundle.MLP` with no hidden layer) fitted
    on the FER sample plus CK+ rows ``ck_rows``; 8 outputs in the face head's label order."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from mmemo.heads.bundle import MLP
    from mmemo.heads.face.geometry import geometry_features
    from mmemo.heads.face.model import FACE_LABELS

    x_fer, ok_fer = geometry_features(landmarks["fer_train"])
    x_ck, ok_ck = geometry_features(landmarks["ck"])
    rng = np.random.default_rng(0)
    fer = rng.choice(np.flatnonzero(ok_fer), min(GEO_FER_SAMPLE, int(ok_fer.sum())), replace=False)
    ck = np.asarray(ck_rows)[ok_ck[ck_rows]]
    x = np.concatenate([x_ck[ck], x_fer[fer]])
    y = np.concatenate([faces["ck_y"][ck], faces["fer_train_y"][fer]])
    weight = np.concatenate([np.full(len(ck), GEO_CK_WEIGHT), np.ones(len(fer))])
    scaler = StandardScaler().fit(x)
    lr = LogisticRegression(C=GEO_C, max_iter=2000)
    lr.fit(scaler.transform(x), y, sample_weight=weight)
    if list(lr.classes_) != list(range(len(FACE_LABELS))):
        raise ValueError(f"geometry training data lack classes: have {lr.classes_.tolist()}")
    return MLP.from_sklearn(scaler, lr)


def fused_logits(
    cnn_logits: np.ndarray, geometry: Any | None, landmarks: np.ndarray, weight: float = GEO_WEIGHT
) -> np.ndarray:
    """:func:`mmemo.heads.face.geometry.fused_logits` with the shipped weight by default."""
    from mmemo.heads.face.geometry import fused_logits as fuse_geometry

    return fuse_geometry(cnn_logits, geometry, landmarks, weight)


def geometry_config() -> dict[str, Any]:
    """The ``geometry`` entry of the face head's config."""
    return {
        "type": "logistic_regression",
        "weight": GEO_WEIGHT,
        "features": "x, y of the 478 FaceMesh landmarks of the crop (upsampled to 256 px), "
        "frontalised, inter-ocular-distance units",
        "fusion": "logits_cnn + weight * log p_geometry; CNN alone where no landmarks",
        "training": f"{GEO_FER_SAMPLE} FER2013 train images with landmarks (random, seed 0) + "
        f"CK+48 (weight {GEO_CK_WEIGHT}), standardised, C {GEO_C}",
    }
