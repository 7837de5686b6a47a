import json

import numpy as np
import pytest
from PIL import Image

from mmemo.encoders.face import FaceMesher, detect_faces, frontalise, head_pose
from mmemo.media import MediaError
from tests.encoders._clips import astronaut, save_png

# The astronaut's face in skimage.data.astronaut(): roughly x 150-270, y 40-200 (pixels).
FACE_BOX = (150, 40, 270, 200)


@pytest.fixture(scope="module")
def astro_faces():
    return detect_faces(astronaut())


def test_astronaut_face_landmarks_box_pose(astro_faces, tmp_path):
    cues = astro_faces
    assert not cues.empty and cues.reason is None
    assert cues.landmarks.shape == (1, 478, 3) and cues.face_count.tolist() == [1]
    x0, y0, x1, y1 = cues.boxes[0]
    assert abs((x0 + x1) / 2 - 210) < 40 and abs((y0 + y1) / 2 - 120) < 50
    assert 80 < x1 - x0 < 220
    # iris centres (468 subject's right, 473 left) lie inside the face, right one on the left
    assert cues.landmarks[0, 468, 0] < cues.landmarks[0, 473, 0]
    yaw, pitch, roll = cues.head_pose[0]
    assert abs(yaw) < 25 and abs(roll) < 15
    # the same through a file path, JSON-able, text
    from_file = detect_faces(save_png(tmp_path / "a.png", astronaut()))
    np.testing.assert_allclose(from_file.boxes, cues.boxes, atol=1e-3)
    json.dumps(cues.to_dict(landmarks=True))
    assert "face found" in cues.describe()


def test_roll_and_yaw_follow_the_image(astro_faces):
    img = Image.fromarray(astronaut())
    base_yaw, _, base_roll = astro_faces.head_pose[0]
    rotated = detect_faces(np.asarray(img.rotate(-20, resample=Image.BILINEAR)))  # clockwise
    assert rotated.head_pose[0, 2] - base_roll == pytest.approx(20, abs=5)
    flipped = detect_faces(np.asarray(img.transpose(Image.FLIP_LEFT_RIGHT)))
    assert flipped.head_pose[0, 0] == pytest.approx(-base_yaw, abs=5)
    assert flipped.head_pose[0, 2] == pytest.approx(-base_roll, abs=5)


def test_frontalise_undoes_rotation_and_scale(astro_faces):
    lm = astro_faces.landmarks[0].astype(np.float64)
    a = np.deg2rad(25)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])  # yaw
    centre = lm.mean(0)
    moved = (lm - centre) @ rot.T * 1.7 + centre + 30
    np.testing.assert_allclose(frontalise(moved), frontalise(lm), atol=1e-6)
    # this rotation turns the face normal (0, 0, -1) towards -x, the image's left: yaw < 0
    assert head_pose(moved)[0] - head_pose(lm)[0] == pytest.approx(-25, abs=1)
    f = frontalise(lm)
    iod = np.linalg.norm(f[[362, 263]].mean(0) - f[[33, 133]].mean(0))
    assert iod == pytest.approx(1.0)


def test_no_face_is_empty_with_reason(tmp_path):
    from skimage import data

    for img in (np.full((240, 320, 3), 128, np.uint8), data.coffee()):
        cues = detect_faces(img)
        assert cues.empty and "no face" in cues.reason
        assert cues.face_count.tolist() == [0] and np.isnan(cues.boxes).all()
        assert cues.describe().startswith("no face")


def test_two_faces_counts_and_picks_the_largest():
    face = astronaut()[20:260, 100:320]  # 240x220 crop around the face
    small = np.asarray(Image.fromarray(face).resize((165, 180)))
    canvas = np.full((300, 600, 3), 200, np.uint8)
    canvas[30:270, 20:240] = face
    canvas[60:240, 380:545] = small
    cues = detect_faces(canvas)
    assert cues.face_count[0] == 2
    assert cues.boxes[0, 2] < 300  # the larger face, on the left
    assert "2 faces" in cues.describe()


def test_small_crop_is_upsampled():
    face = astronaut()[30:230, 110:310]
    tiny = np.asarray(Image.fromarray(face).convert("L").resize((48, 48)).convert("RGB"))
    cues = detect_faces(tiny)
    assert not cues.empty
    assert cues.boxes[0, 2] <= 48.5 and cues.boxes[0, 0] >= -0.5  # caller's pixel coordinates


def test_profile_half_face_never_raises():
    half = np.ascontiguousarray(astronaut()[:, 210:])  # right of the nose only
    cues = detect_faces(half)  # FaceMesh still fits a full mesh to the half face
    assert not cues.empty and cues.detected.tolist() == [True]
    assert cues.landmarks.shape == (1, 478, 3) and np.isfinite(cues.landmarks).all()
    assert cues.describe().startswith("face found")


def test_mesher_rejects_bad_array_and_missing_file(tmp_path):
    with FaceMesher() as mesher, pytest.raises(ValueError, match="uint8 RGB"):
        mesher(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(MediaError, match="file not found"):
        detect_faces(tmp_path / "nope.jpg")
