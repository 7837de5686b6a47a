"""Files every player plays (issue 14): audio shorter than the picture, VP9/Opus WebM (also
written live, without a duration), phone clips with a rotation matrix; decord failures."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.media import MediaError, probe, read_audio, read_frames

SENTENCE_S = 3.8  # the espeak-ng sentence of tests/media_fixtures.py


@pytest.mark.parametrize("name", ["short_audio.mp4", "vp9_opus.webm", "vp9_live.webm"])
def test_audio_shorter_than_the_video_is_read_with_its_own_length(media_dir, name):
    info = probe(media_dir / name)
    assert info.duration == pytest.approx(6.0, abs=0.15)  # the picture
    assert info.audio_duration == pytest.approx(SENTENCE_S, abs=0.2)
    assert info.video_duration == pytest.approx(6.0, abs=0.15)
    audio = read_audio(media_dir / name, sample_rate=16000)
    assert audio.duration == pytest.approx(SENTENCE_S, abs=0.2)
    ref = read_audio(media_dir / "speech.wav", sample_rate=16000)
    rms = [float(np.sqrt(np.mean(a.samples**2))) for a in (audio, ref)]
    assert rms[0] == pytest.approx(rms[1], rel=0.2)
    # a window past the end of the audio track holds no samples: a clear error, not a crash
    with pytest.raises(MediaError, match="no audio samples"):
        read_audio(media_dir / name, start=5.0, end=6.0)


@pytest.mark.parametrize("name", ["vp9_opus.webm", "vp9_live.webm"])
def test_vp9_webm_frames_are_read_over_the_whole_picture(media_dir, name):
    frames = read_frames(media_dir / name, num_frames=6)
    assert frames.frames.shape == (6, 240, 320, 3)
    assert frames.timestamps[-1] > 4.5 and np.all(np.diff(frames.timestamps) > 0)
    assert frames.frames.mean() > 30  # the picture, not black


def test_rotation_is_shown_by_probe_and_applied_to_frames(media_dir):
    info = probe(media_dir / "rotated.mp4")
    assert info.rotation == 90
    assert (info.width, info.height) == (480, 640)  # as displayed: portrait
    assert probe(media_dir / "portrait.mp4").rotation == 0
    got = read_frames(media_dir / "rotated.mp4", num_frames=3)
    ref = read_frames(media_dir / "portrait.mp4", num_frames=3)
    assert got.frames.shape == ref.frames.shape == (3, 640, 480, 3)
    upright = np.abs(got.frames.astype(int) - ref.frames).mean()
    flipped = np.abs(np.rot90(got.frames, 2, axes=(1, 2)).astype(int) - ref.frames).mean()
    assert upright < 6 and flipped > 3 * upright
    small = read_frames(media_dir / "rotated.mp4", num_frames=1, max_side=160)
    assert small.frames.shape == (1, 160, 120, 3)


def test_media_probe_command_shows_rotation_and_stream_lengths(media_dir, capsys):
    from mmemo.cli import main

    assert main(["media", "probe", str(media_dir / "rotated.mp4")]) == 0
    out = capsys.readouterr().out
    assert "480x640" in out and "rotated 90" in out
    assert main(["media", "probe", str(media_dir / "short_audio.mp4")]) == 0
    out = capsys.readouterr().out
    assert "audio ends at 3." in out


def test_any_decord_failure_falls_back_to_pyav(media_dir, monkeypatch):
    import decord

    def broken(self, indices):
        raise decord.DECORDError("[vp9 @ 0x1] Error while decoding frame (made on purpose)")

    monkeypatch.setattr(decord.VideoReader, "get_batch", broken)
    frames = read_frames(media_dir / "face_speech.webm", num_frames=4)
    assert frames.frames.shape == (4, 480, 640, 3) and frames.frames.mean() > 30


def test_genuinely_broken_video_still_fails_after_both_readers(media_dir):
    with pytest.raises(MediaError, match="corrupt|truncated"):
        read_frames(media_dir / "truncated_faststart.mp4", num_frames=8)
