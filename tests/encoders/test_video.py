import numpy as np
import pytest

from mmemo.encoders.video import SCENE_THRESHOLD, sample_frames, scene_cuts
from mmemo.media import MediaError
from tests.encoders._clips import astronaut, save_png, write_clip


def _scene(value: int) -> np.ndarray:
    return np.full((240, 320, 3), value, np.uint8)


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory):
    """3 s at 10 fps: dark grey 0-1.5 s, then light grey (one hard cut at 1.5 s)."""
    root = tmp_path_factory.mktemp("video")
    return write_clip(root / "cut.mp4", [_scene(30)] * 15 + [_scene(220)] * 15)


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory):
    """2 s at 10 fps: a blank first second, the astronaut face in the second."""
    root = tmp_path_factory.mktemp("video")
    face = astronaut()[::2, ::2]  # 256x256
    return write_clip(root / "face.mp4", [np.full_like(face, 100)] * 10 + [face] * 10)


def test_uniform_and_fps(cut_clip):
    u = sample_frames(cut_clip, "uniform", n=4)
    assert len(u) == 4 and u.frames.shape[1:] == (240, 320, 3)
    np.testing.assert_allclose(
        u.timestamps, [0.3, 1.1, 1.8, 2.6], atol=0.01
    )  # centres of 4 segments, floored to frames
    f = sample_frames(cut_clip, "fps", fps=2, max_side=160)
    assert len(f) == 6 and f.frames.shape[1:] == (120, 160, 3)
    assert np.all(np.diff(f.timestamps) > 0)


def test_scene_picks_one_frame_per_shot(cut_clip):
    times, diff = scene_cuts(cut_clip)
    assert diff.max() > SCENE_THRESHOLD and times[int(np.argmax(diff))] == pytest.approx(
        1.6, abs=0.11
    )
    two = sample_frames(cut_clip, "scene", n=2)
    means = two.frames.reshape(2, -1).mean(1)
    assert means[0] < 80 < 180 < means[1]  # one frame from each shot
    assert np.all(np.diff(sample_frames(cut_clip, "scene", n=5).timestamps) > 0)


def test_peak_au_frames_come_from_the_face(face_clip, cut_clip):
    fr = sample_frames(face_clip, "peak_au", n=3)
    assert len(fr) == 3 and np.all(fr.timestamps >= 0.95)  # the face is in the second second
    # a clip without a face falls back to uniform frames
    blank = sample_frames(cut_clip, "peak_au", n=2)
    np.testing.assert_allclose(blank.timestamps, [0.7, 2.2], atol=0.01)


def test_image_and_errors(tmp_path, cut_clip):
    img = save_png(tmp_path / "a.png", astronaut())
    assert len(sample_frames(img, "peak_au", n=4)) == 1
    with pytest.raises(ValueError, match="unknown strategy"):
        sample_frames(cut_clip, "random")
    with pytest.raises(ValueError, match="n must be"):
        sample_frames(cut_clip, n=0)
    with pytest.raises(MediaError, match="file not found"):
        sample_frames(tmp_path / "none.mp4")


def test_very_short_clip(tmp_path):
    clip = write_clip(tmp_path / "short.mp4", [_scene(50)] * 5, fps=25)  # 0.2 s
    for strategy in ("uniform", "fps", "peak_au", "scene"):
        fr = sample_frames(clip, strategy, n=3)
        assert 1 <= len(fr) <= 3 and fr.frames.dtype == np.uint8
