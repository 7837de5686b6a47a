"""A smoke run of the face head's training on synthetic crops: the saved bundle names its
test-time views, and the metrics score every candidate view set (issue 12)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")


def test_train_face_records_the_view_sets_and_writes_the_shipped_views(tmp_path, monkeypatch):
    import mmemo.heads.face.train as tr
    from mmemo.heads.face.data import CK_HEAD_IDX
    from mmemo.heads.face.model import FaceHead

    rng = np.random.default_rng(0)
    crops = lambda n: rng.integers(0, 256, (n, 48, 48), dtype=np.uint8)  # noqa: E731
    ck_y = np.array([CK_HEAD_IDX[i % 7] for i in range(40)])
    np.savez(
        tmp_path / "faces.npz",
        fer_train_x=crops(70), fer_train_y=np.arange(70) % 7,
        fer_publictest_x=crops(21), fer_publictest_y=np.arange(21) % 7,
        ck_x=crops(40), ck_y=ck_y, ck_subject=np.array([f"S{i % 8:03d}" for i in range(40)]),
    )  # fmt: skip
    for name, value in (("FACE_WIDTH", 4), ("FACE_EPOCHS", 1), ("FT_EPOCHS", 1),
                        ("FT_SOUP", 1), ("FT_REPLAY", 14), ("CK_FOLDS", 2)):  # fmt: skip
        monkeypatch.setattr(tr, name, value)

    class NoGeometry:
        def to_tensors(self, prefix):
            return {}

    no_landmarks = {"ck": np.zeros(40), "fer_publictest": np.zeros(21)}  # unused placeholders
    monkeypatch.setattr(tr, "face_landmarks", lambda faces, cache: no_landmarks)
    monkeypatch.setattr(tr, "fit_geometry", lambda *a: NoGeometry())
    monkeypatch.setattr(tr, "fused_logits", lambda lo, geometry, landmarks: lo)
    monkeypatch.setattr(tr, "geometry_config", lambda: None)
    out = tmp_path / "heads"
    metrics = tr.train_face(tmp_path, out, tmp_path)
    by = metrics["by_test_time_views"]
    assert set(by) == set(tr.TTA_CANDIDATES)
    for name, rec in by.items():
        assert rec["views"] == [list(v) for v in tr.TTA_CANDIDATES[name]]
        assert len(rec["ckplus_subject_cv5_acc"]["folds"]) == 2
        assert 0.0 <= rec["fer2013_publictest_acc"] <= 1.0
    cfg = json.loads((out / "face.json").read_text())
    assert cfg["input"]["test_time_views"] == [list(v) for v in tr.FACE_TTA_VIEWS]
    head = FaceHead.load(out)
    assert head.views == tuple(tuple(float(a) for a in v) for v in tr.FACE_TTA_VIEWS)
    assert head.predict_proba(crops(3)).shape == (3, 8)
