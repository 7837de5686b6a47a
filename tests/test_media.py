"""mmemo.media on real media made on the spot, and on a corpus of broken files."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.media import (
    MediaError,
    iter_audio,
    media_kind,
    probe,
    read_audio,
    read_frames,
    read_image,
    sample_times,
)
from tests.media_fixtures import BROKEN


@pytest.mark.parametrize("name", ["speech.wav", "speech.flac", "speech.mp3", "speech.ogg",
                                  "speech.m4a", "face_speech.mp4", "face_speech.webm",
                                  "face_speech.mkv", "face_speech.avi"])  # fmt: skip
def test_audio_from_every_container_matches_the_wav(media_dir, name):
    got = read_audio(media_dir / name, sample_rate=16000)
    # the videos are 3 s long and cut the 3.8 s sentence: compare the same span
    end = 3.0 if name.startswith("face_") else None
    ref = read_audio(media_dir / "speech.wav", sample_rate=16000, end=end)
    assert got.sample_rate == 16000 and got.samples.ndim == 1
    assert got.samples.dtype == np.float32
    # the same sentence, re-encoded: same length within codec padding, similar loudness
    assert abs(got.duration - ref.duration) < 0.15
    rms_ref = float(np.sqrt(np.mean(ref.samples**2)))
    rms_got = float(np.sqrt(np.mean(got.samples**2)))
    assert rms_got == pytest.approx(rms_ref, rel=0.2)


def test_resample_and_channels(media_dir):
    stereo = read_audio(media_dir / "speech_stereo_96k.wav", sample_rate=None, mono=False)
    assert stereo.sample_rate == 96000 and stereo.samples.shape[0] == 2
    mono16 = read_audio(media_dir / "speech_stereo_96k.wav", sample_rate=16000)
    assert mono16.samples.ndim == 1
    assert abs(mono16.samples.shape[0] - stereo.samples.shape[1] / 6) <= 2
    up = read_audio(media_dir / "speech_8k.wav", sample_rate=16000)
    assert up.sample_rate == 16000 and abs(up.duration - stereo.duration) < 0.01


def test_time_range_and_windows(media_dir):
    part = read_audio(media_dir / "speech.wav", start=1.0, end=2.5)
    assert part.samples.shape[0] == 24000 and part.start == 1.0
    full = read_audio(media_dir / "speech.wav")
    # away from the edges, where the resampling filter starts up
    np.testing.assert_allclose(part.samples[2000:3000], full.samples[18000:19000], atol=2e-3)
    windows = list(iter_audio(media_dir / "speech.m4a", window=1.0))
    assert [w.start for w in windows] == [0.0, 1.0, 2.0, 3.0]
    assert sum(w.samples.shape[0] for w in windows) == pytest.approx(full.samples.shape[0], abs=800)
    video_part = read_audio(media_dir / "face_speech.mp4", start=0.5, end=1.5)
    assert video_part.samples.shape[0] == 16000


def test_probe_reports_streams(media_dir):
    v = probe(media_dir / "face_speech.mp4")
    assert (v.kind, v.has_video, v.has_audio, v.width, v.height) == ("video", True, True, 640, 480)
    assert v.fps == pytest.approx(25.0) and v.duration == pytest.approx(3.0, abs=0.1)
    assert probe(media_dir / "face_noaudio.mp4").has_audio is False
    a = probe(media_dir / "speech.flac")
    assert (a.kind, a.has_video, a.sample_rate) == ("audio", False, 16000)
    i = probe(media_dir / "face.png")
    assert (i.kind, i.width, i.height) == ("image", 512, 512)


def test_frames_uniform_fps_and_range(media_dir):
    clip = media_dir / "face_speech.mp4"
    fr = read_frames(clip, num_frames=6)
    assert fr.frames.shape == (6, 480, 640, 3) and fr.frames.dtype == np.uint8
    assert np.all(np.diff(fr.timestamps) > 0)
    np.testing.assert_allclose(fr.timestamps, sample_times(3.0, 6), atol=0.041)
    by_rate = read_frames(clip, fps=2, start=1.0, end=2.0)
    np.testing.assert_allclose(by_rate.timestamps, [1.0, 1.5], atol=0.041)
    small = read_frames(clip, num_frames=2, max_side=160)
    assert small.frames.shape == (2, 120, 160, 3)
    # the zoom makes frames differ, and they show the picture (not black)
    centre = np.s_[:, 80:560]  # the face, between the padding bars
    diff = np.abs(fr.frames[0][centre].astype(int) - fr.frames[-1][centre]).mean()
    assert fr.frames[0][centre].mean() > 30 and diff > 1


def test_frames_from_webm_and_image(media_dir):
    assert len(read_frames(media_dir / "face_speech.webm", num_frames=3)) == 3
    img = read_frames(media_dir / "face.png", max_side=128)
    assert img.frames.shape == (1, 128, 128, 3)
    np.testing.assert_array_equal(read_image(media_dir / "face.png").shape, (512, 512, 3))


def test_silent_and_short_audio_are_read_not_rejected(media_dir):
    assert np.abs(read_audio(media_dir / "silent.wav").samples).max() == 0.0
    assert read_audio(media_dir / "short_0.2s.wav").samples.shape[0] == 3200


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_raise_media_error_naming_file_and_reason(media_dir, name):
    path = media_dir / name
    kind = media_kind(path) if path.suffix != ".txt" else "video"
    reader = read_audio if kind == "audio" else (read_image if kind == "image" else read_frames)
    with pytest.raises(MediaError) as info:
        reader(path)
    assert info.value.path == str(path)
    assert BROKEN[name] in info.value.reason, info.value.reason
    assert str(path) in str(info.value)


def test_missing_streams(media_dir):
    with pytest.raises(MediaError, match="no audio track"):
        read_audio(media_dir / "face_noaudio.mp4")
    with pytest.raises(MediaError, match="no video stream"):
        read_frames(media_dir / "speech.wav")
    with pytest.raises(MediaError, match="image has no audio"):
        read_audio(media_dir / "face.png")


def test_media_error_pickles():
    import pickle

    err = pickle.loads(pickle.dumps(MediaError("/x/y.wav", "empty file (0 bytes)")))
    assert (err.path, err.reason) == ("/x/y.wav", "empty file (0 bytes)")
