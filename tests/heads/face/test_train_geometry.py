"""The face head's geometry classifier: fit, fusion when scoring, landmark cache."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.heads.face import train_geometry as tfg
from mmemo.heads.face.geometry import GEOMETRY_DIM, N_POINTS


def _landmarks(y: np.ndarray, rng) -> np.ndarray:
    """Noise landmarks where class c moves points 10c..10c+9 to the right."""
    lm = rng.normal(scale=0.1, size=(len(y), N_POINTS, 3)).astype(np.float32)
    for i, c in enumerate(y):
        lm[i, 10 * c : 10 * c + 10, 0] += 1.0
    return lm


def _data(n_fer: int = 400, n_ck: int = 80):
    rng = np.random.default_rng(0)
    fer_y = np.arange(n_fer) % 7
    ck_y = np.array([0, 1, 2, 3, 5, 6, 7])[np.arange(n_ck) % 7]  # CK+: no neutral, contempt 7
    faces = {"fer_train_y": fer_y, "ck_y": ck_y}
    lms = {"fer_train": _landmarks(fer_y, rng), "ck": _landmarks(ck_y, rng)}
    lms["ck"][3] = np.nan  # a CK+ image without landmarks is left out of the fit
    return faces, lms


def test_fit_geometry_learns_the_classes_and_fuses(monkeypatch):
    monkeypatch.setattr(tfg, "GEO_FER_SAMPLE", 300)
    faces, lms = _data()
    geo = tfg.fit_geometry(faces, lms, np.arange(60))
    assert geo.mean.shape == (GEOMETRY_DIM,) and geo.weights[0].shape == (GEOMETRY_DIM, 8)
    rng = np.random.default_rng(5)
    y = np.arange(8)
    pred = geo.logits(_landmarks(y, rng)[:, :, :2].reshape(8, -1)).argmax(1)
    assert (pred == y).mean() >= 0.875
    cnn = np.zeros((8, 8))
    fused = tfg.fused_logits(cnn, geo, _landmarks(y, rng))
    assert (fused.argmax(1) == y).mean() >= 0.875
    assert tfg.fused_logits(cnn, None, None) is cnn
    np.testing.assert_array_equal(tfg.fused_logits(cnn, geo, _landmarks(y, rng), 0.0), cnn)


def test_fit_geometry_names_missing_classes():
    faces, lms = _data()
    faces["fer_train_y"] = np.zeros_like(faces["fer_train_y"])
    with pytest.raises(ValueError, match="lack classes"):
        tfg.fit_geometry(faces, lms, np.array([0, 1]))


def test_face_landmarks_are_cached_and_remeasured_when_sizes_change(tmp_path, monkeypatch):
    calls = []
    rng = np.random.default_rng(0)

    def fake(x, progress=False):
        calls.append(len(x))
        return rng.normal(size=(len(x), N_POINTS, 3)).astype(np.float32)

    monkeypatch.setattr("mmemo.heads.face.geometry.crop_landmarks", fake)
    faces = {f"{k}_x": np.zeros((n, 48, 48), np.uint8)
             for k, n in (("ck", 2), ("fer_train", 3), ("fer_publictest", 4))}  # fmt: skip
    out = tfg.face_landmarks(faces, tmp_path)
    assert calls == [2, 3, 4] and out["fer_publictest"].shape == (4, N_POINTS, 3)
    again = tfg.face_landmarks(faces, tmp_path)
    assert calls == [2, 3, 4]  # from the cache
    for k in out:  # the run that measured them trains on the values later runs read back
        np.testing.assert_array_equal(again[k], out[k])
    faces["ck_x"] = np.zeros((5, 48, 48), np.uint8)
    tfg.face_landmarks(faces, tmp_path)
    assert calls == [2, 3, 4, 5, 3, 4]
