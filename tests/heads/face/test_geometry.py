"""Landmark geometry for the face head: features, fusion, landmarks on real face crops."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.heads.bundle import MLP, HeadError, save_bundle, softmax
from mmemo.heads.face.cnn import build_face_cnn
from mmemo.heads.face.geometry import (
    GEOMETRY_DIM,
    N_POINTS,
    crop_landmarks,
    fuse,
    geometry_features,
    log_softmax,
)
from mmemo.heads.face.model import FACE_LABELS, FaceHead


def _astronaut_crop() -> np.ndarray:
    from skimage import data

    from mmemo.heads.face.crop import face_crops

    crops = face_crops(data.astronaut())
    assert len(crops) == 1
    return crops[0]


def test_geometry_features_flatten_xy_and_flag_missing_rows():
    lm = np.arange(2 * N_POINTS * 3, dtype=np.float32).reshape(2, N_POINTS, 3)
    lm[1] = np.nan
    feats, found = geometry_features(lm)
    assert feats.shape == (2, GEOMETRY_DIM)
    np.testing.assert_array_equal(found, [True, False])
    np.testing.assert_array_equal(feats[0, :4], [0, 1, 3, 4])  # x0, y0, x1, y1 (z dropped)
    assert not feats[1].any()


def test_fuse_adds_weighted_log_probs_only_where_found():
    cnn = np.array([[1.0, 0.0], [0.0, 1.0]])
    geo = log_softmax(np.array([[0.0, 3.0], [3.0, 0.0]]))
    out = fuse(cnn, geo, np.array([True, False]), 0.5)
    np.testing.assert_allclose(out[0], cnn[0] + 0.5 * geo[0])
    np.testing.assert_array_equal(out[1], cnn[1])
    np.testing.assert_allclose(np.exp(geo).sum(1), 1.0)


def test_landmarks_of_a_real_face_crop_are_frontal_and_blank_is_nan():
    crop = _astronaut_crop()
    lm = crop_landmarks(np.stack([crop, np.full((48, 48), 128, np.uint8)]))
    assert lm.shape == (2, N_POINTS, 3)
    assert np.isfinite(lm[0]).all() and np.isnan(lm[1]).all()
    from mmemo.encoders.face import L_EYE, R_EYE

    # frontalised: eyes level, one inter-ocular distance apart, left eye at +x
    eye_r, eye_l = lm[0, list(R_EYE), :2].mean(0), lm[0, list(L_EYE), :2].mean(0)
    assert eye_l[0] - eye_r[0] == pytest.approx(1.0, abs=0.02)
    assert abs(eye_l[1] - eye_r[1]) < 0.02


def _face_bundle(tmp_path, geometry: bool):
    import torch

    torch.manual_seed(0)
    model = build_face_cnn(width=4).eval()
    tensors = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(0)
    geo = MLP(
        mean=np.zeros(GEOMETRY_DIM, np.float32),
        scale=np.ones(GEOMETRY_DIM, np.float32),
        weights=[rng.normal(size=(GEOMETRY_DIM, 8)).astype(np.float32)],
        biases=[np.zeros(8, np.float32)],
    )
    config = {"labels": list(FACE_LABELS), "arch": {"width": 4},
              "input": {"center_crop": 40}, "temperature": 0.9}  # fmt: skip
    if geometry:
        config["geometry"] = {"weight": 0.5}
        tensors.update(geo.to_tensors("geometry"))
    save_bundle(tmp_path, "face", config, tensors)
    return FaceHead.load(tmp_path), geo


def test_face_head_fuses_geometry_where_landmarks_exist(tmp_path):
    head, geo = _face_bundle(tmp_path, geometry=True)
    crops = np.random.default_rng(1).integers(0, 256, (2, 48, 48), dtype=np.uint8)
    lm = np.random.default_rng(2).normal(size=(2, N_POINTS, 3)).astype(np.float32)
    lm[1] = np.nan
    cnn = head.logits(crops)
    feats, _ = geometry_features(lm)
    want_0 = softmax((cnn[:1] + 0.5 * log_softmax(geo.logits(feats[:1]))) / 0.9)
    probs = head.predict_proba(crops, landmarks=lm)
    np.testing.assert_allclose(probs[0], want_0[0], atol=1e-5)
    np.testing.assert_allclose(probs[1], softmax(cnn[1:] / 0.9)[0], atol=1e-6)
    assert not np.allclose(probs[0], softmax(cnn[:1] / 0.9)[0], atol=1e-3)


def test_face_head_measures_landmarks_itself_on_a_real_crop(tmp_path):
    head, _ = _face_bundle(tmp_path, geometry=True)
    crop = _astronaut_crop()
    measured = head.predict_proba(crop)
    given = head.predict_proba(crop, landmarks=crop_landmarks(crop))
    np.testing.assert_allclose(measured, given, atol=1e-6)
    cnn_only, _ = _face_bundle(tmp_path / "plain", geometry=False)
    assert not np.allclose(measured, cnn_only.predict_proba(crop), atol=1e-3)


def test_face_head_names_missing_geometry_tensors(tmp_path):
    _face_bundle(tmp_path, geometry=False)
    import json

    cfg_path = tmp_path / "face.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["geometry"] = {"weight": 0.5}
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(HeadError, match="geometry"):
        FaceHead.load(tmp_path)
