"""Face crops for the face head: gray conversion, box framing, detection on real faces."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.heads.face.crop import (
    BOX_SCALE,
    FaceBox,
    box_from_landmarks,
    crop_box,
    face_crops,
    to_face_input,
    to_gray,
)


def test_to_gray_golden():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], dtype=np.uint8)
    np.testing.assert_array_equal(to_gray(rgb), [[76, 150, 29, 255]])
    with pytest.raises(ValueError, match="shape"):
        to_gray(np.zeros((4, 4, 2), np.uint8))


def test_to_face_input_centre_crops_and_resizes():
    img = np.zeros((96, 64), np.uint8)
    img[16:80] = 200  # the central 64x64 square is bright, the rest dark
    out = to_face_input(img)
    assert out.shape == (48, 48) and out.dtype == np.uint8
    assert out.min() == 200


def test_crop_box_frames_and_pads():
    img = np.zeros((100, 100, 3), np.uint8)
    img[40:60, 40:60] = 255
    out = crop_box(img, (40, 40, 20, 20), scale=1.0, shift=0.0)
    assert out.shape == (48, 48) and out.min() == 255  # exactly the white square
    # a box at the corner: the crop leaves the image and repeats edge pixels
    corner = crop_box(img, FaceBox(-5, -5, 30, 30))
    assert corner.shape == (48, 48) and corner.max() == 0
    with pytest.raises(ValueError, match="empty face box"):
        crop_box(img, (0, 0, 0, 10))


def test_box_from_landmarks_normalised_and_pixels():
    pts = np.array([[0.25, 0.2], [0.75, 0.2], [0.5, 0.8]])
    a = box_from_landmarks(pts, (200, 400))  # normalised -> pixels of a 400x200 image
    b = box_from_landmarks(pts * [400, 200], (200, 400))
    assert a == b
    assert a.w == pytest.approx(200 * 1.13, rel=1e-6) and a.h == pytest.approx(120 * 0.99)


@pytest.mark.data
def test_detected_crop_reframes_a_ckplus_face(shared_data):
    """Upscale a CK+48 crop into a larger frame: detection + crop_box gives back ~the crop."""
    from PIL import Image

    files = sorted((shared_data / "ckplus48" / "happy").glob("*.png"))[:3]
    for f in files:
        orig = np.asarray(Image.open(f).convert("L"))
        big = np.asarray(Image.fromarray(orig).resize((192, 192), Image.Resampling.BICUBIC))
        canvas = np.full((320, 320), 128, np.uint8)
        canvas[60:252, 80:272] = big  # the face off-centre in a bigger image
        crops = face_crops(np.repeat(canvas[..., None], 3, axis=2), min_score=0.3)
        assert len(crops) == 1, f"no face found in {f}"
        r = np.corrcoef(crops[0].ravel().astype(float), orig.ravel().astype(float))[0, 1]
        assert r > 0.8, f"{f}: crop does not match the original framing (r={r:.2f})"


@pytest.mark.data
def test_the_shipped_box_scale_matches_the_ckplus_framing_best(shared_data, monkeypatch):
    """BOX_SCALE frames a detected face as CK+48 does: tighter or looser crops match worse."""
    import functools

    from PIL import Image

    from mmemo.heads.face import crop as crop_mod

    f = sorted((shared_data / "ckplus48" / "happy").glob("*.png"))[0]
    orig = np.asarray(Image.open(f).convert("L"))
    big = np.asarray(Image.fromarray(orig).resize((192, 192), Image.Resampling.BICUBIC))
    canvas = np.full((320, 320), 128, np.uint8)
    canvas[60:252, 80:272] = big
    image = np.repeat(canvas[..., None], 3, axis=2)
    plain = crop_mod.crop_box

    def match(scale: float) -> float:
        monkeypatch.setattr(crop_mod, "crop_box", functools.partial(plain, scale=scale))
        (c,) = crop_mod.face_crops(image, min_score=0.3)
        return float(np.corrcoef(c.ravel().astype(float), orig.ravel().astype(float))[0, 1])

    best = match(BOX_SCALE)
    assert best > match(0.8 * BOX_SCALE) and best > match(1.3 * BOX_SCALE)


def test_no_face_gives_empty_list():
    flat = np.full((120, 120, 3), 90, np.uint8)
    assert face_crops(flat) == []


def test_is_crop_sized_golden():
    from mmemo.heads.face.crop import is_crop_sized

    assert is_crop_sized(48, 48) and is_crop_sized(64, 56)
    assert not is_crop_sized(65, 65) and not is_crop_sized(48, 30)
    assert not is_crop_sized(None, None) and not is_crop_sized(0, 0)


def test_media_face_crops_small_images_are_the_crop(tmp_path):
    from PIL import Image
    from skimage import data

    from mmemo.heads.face.crop import WHOLE_IMAGE, media_face_crops

    Image.fromarray(data.astronaut()).save(tmp_path / "big.png")
    crops, detail = media_face_crops(str(tmp_path / "big.png"), "image", 8)
    assert len(crops) == 1 and crops[0].shape == (48, 48) and "1 face crops" in detail
    Image.fromarray(crops[0]).save(tmp_path / "crop.png")
    again, detail = media_face_crops(str(tmp_path / "crop.png"), "image", 8)
    assert detail == WHOLE_IMAGE
    np.testing.assert_array_equal(again[0], crops[0])  # used as it is, not re-framed
    Image.fromarray(np.full((48, 48), 90, np.uint8)).save(tmp_path / "blank.png")
    assert media_face_crops(str(tmp_path / "blank.png"), "image", 8) == (
        [],
        "no face: the image is blank",
    )
