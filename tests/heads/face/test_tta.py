"""Test-time augmentation of the face CNN: the views it averages, that the head uses them, and
that a mirrored face takes the same prediction path (the view set is closed under mirroring)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmemo.heads.bundle import save_bundle
from mmemo.heads.face.cnn import TTA_SHIFTS, build_face_cnn, face_logits, tta_logits
from mmemo.heads.face.model import FACE_LABELS, FaceHead

torch = pytest.importorskip("torch")


def _net():
    """A position-sensitive stand-in for the CNN (a random CNN's pooled logits hardly move
    with a 2-px shift), so that the views visibly differ."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(40 * 40, 8)).eval()


def _head(tmp_path, model, views=TTA_SHIFTS, mirror=True) -> FaceHead:
    """A FaceHead loaded from a real bundle (random width-4 CNN), its network then swapped
    for ``model``."""
    torch.manual_seed(0)
    cnn = build_face_cnn(4)
    tensors = {k: v.detach().float().numpy() for k, v in cnn.state_dict().items()}
    config = {
        "labels": list(FACE_LABELS),
        "arch": {"width": 4},
        "input": {"center_crop": 40, "test_time_mirror": mirror,
                  "test_time_views": [list(v) for v in views]},
    }  # fmt: skip
    save_bundle(tmp_path, "face", config, tensors)
    head = FaceHead.load(tmp_path)
    head.model = model
    return head


def _mirrored(view: tuple) -> tuple:
    """The view that the mirror image of ``view`` is (dx changes sign)."""
    return (view[0], -view[1], *view[2:])


def _crops(n: int = 3) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 48, 48), dtype=np.uint8)


def test_tta_logits_is_the_mean_over_shifted_and_mirrored_windows():
    model = _net()
    x = torch.from_numpy(_crops().astype(np.float32) / 255).unsqueeze(1)
    with torch.no_grad():
        got = tta_logits(model, x, 40, TTA_SHIFTS, mirror=True)
        ref = []
        for dy, dx in TTA_SHIFTS:
            v = x[..., 4 + dy : 44 + dy, 4 + dx : 44 + dx]
            ref += [model(v), model(torch.flip(v, dims=[3]))]
        ref = torch.stack(ref).mean(0)
        centre = tta_logits(model, x, 40, ((0, 0),), mirror=False)
        np.testing.assert_allclose(centre, model(x[..., 4:44, 4:44]), atol=1e-5)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    assert not np.allclose(got, centre, atol=1e-2)  # the extra views change the logits
    with pytest.raises(ValueError, match="leaves"):
        tta_logits(model, x, 40, ((5, 0),))
    with pytest.raises(ValueError, match="leaves"):
        tta_logits(model, x, 40, ((0, 0, 1.25),))  # a 50-px window of a 48-px crop
    # a scaled view: the centred 44-px window resized to 40 px
    with torch.no_grad():
        zoom = tta_logits(model, x, 40, ((0, 0, 1.1),), mirror=False)
        win = torch.nn.functional.interpolate(x[..., 2:46, 2:46], size=(40, 40), mode="bilinear",
                                              align_corners=False, antialias=True)  # fmt: skip
        np.testing.assert_allclose(zoom, model(win), atol=1e-5)
    np.testing.assert_allclose(
        face_logits(model, _crops(), views=TTA_SHIFTS, batch=10), got, atol=1e-5
    )  # batched over images in steps of batch // views


def test_the_head_runs_every_configured_view_in_one_batch(tmp_path):
    model = _net()
    head = _head(tmp_path, model)
    assert head.views == TTA_SHIFTS and head.mirror
    sizes = []
    head.model.register_forward_hook(lambda m, i, o: sizes.append(tuple(i[0].shape)))
    logits = head.logits(_crops(3))
    assert sizes == [(3 * len(TTA_SHIFTS) * 2, 1, 40, 40)]  # 3 crops x 5 windows x mirror
    with torch.no_grad():
        ref = tta_logits(model, torch.from_numpy(_crops(3) / 255.0).float().unsqueeze(1),
                         40, TTA_SHIFTS, True)  # fmt: skip
    np.testing.assert_allclose(logits, ref, atol=1e-5)
    # a bundle without test_time_shifts keeps the earlier centre + mirror behaviour
    cfg = json.loads((tmp_path / "face.json").read_text())
    del cfg["input"]["test_time_views"]
    tensors = {k: v.numpy() for k, v in build_face_cnn(4).state_dict().items()}
    save_bundle(tmp_path, "face", cfg, tensors)
    old = FaceHead.load(tmp_path)
    assert old.views == ((0.0, 0.0),)
    old.model = model
    with torch.no_grad():
        x = torch.from_numpy(_crops(3)[:, 4:44, 4:44] / 255.0).float().unsqueeze(1)
        ref = (model(x) + model(torch.flip(x, dims=[3]))) / 2
    np.testing.assert_allclose(old.logits(_crops(3)), ref, atol=1e-5)


def test_a_mirrored_face_gets_the_same_logits(tmp_path):
    """TTA_SHIFTS is symmetric in dx and every window is mirrored, so the views of a mirrored
    crop are the views of the crop: the same logits, hence the same prediction."""
    assert set(TTA_SHIFTS) == {_mirrored(v) for v in TTA_SHIFTS}
    head = _head(tmp_path, _net())
    crops = _crops(4)
    a = head.logits(crops)
    b = head.logits(crops[:, :, ::-1].copy())
    np.testing.assert_allclose(a, b, atol=1e-5)
    zoomed = _head(tmp_path, _net(), views=((0, 0), (0, 0, 1.1), (1, 2, 0.9), (1, -2, 0.9)))
    np.testing.assert_allclose(zoomed.logits(crops), zoomed.logits(crops[:, :, ::-1].copy()),
                               atol=1e-5)  # fmt: skip
    # without the mirror views the two differ: the test above is not vacuous
    plain = _head(tmp_path, _net(), mirror=False)
    assert not np.allclose(plain.logits(crops), plain.logits(crops[:, :, ::-1].copy()), atol=1e-2)


@pytest.mark.data
def test_the_shipped_head_reads_real_ckplus_faces_alike_when_mirrored(shared_data):
    from PIL import Image

    from mmemo.heads.face.crop import to_face_input
    from mmemo.heads.face.data import CK_HEAD_IDX

    head = FaceHead.load()  # checkpoints/default
    want, crops = [], []
    for folder, label in (("happy", "happy"), ("surprise", "surprise"), ("anger", "angry")):
        for f in sorted((shared_data / "ckplus48" / folder).glob("*.png"))[::15][:6]:
            with Image.open(f) as im:
                crops.append(to_face_input(np.asarray(im.convert("L"))))
            want.append(FACE_LABELS.index(label))
    if not crops:
        pytest.skip("no CK+48 images found")
    crops = np.stack(crops)
    lo = head.logits(crops)
    lo_m = head.logits(crops[:, :, ::-1].copy())
    pred = np.asarray(CK_HEAD_IDX)[lo[:, CK_HEAD_IDX].argmax(1)]
    pred_m = np.asarray(CK_HEAD_IDX)[lo_m[:, CK_HEAD_IDX].argmax(1)]
    if set(head.views) == {(dy, -dx) for dy, dx in head.views} and head.mirror:
        np.testing.assert_allclose(lo, lo_m, atol=1e-4)
    assert (pred == pred_m).mean() >= 0.9
    # the shipped head was fine-tuned on all of CK+: a smoke test of the real-face path
    assert (pred == np.asarray(want)).mean() >= 0.8
