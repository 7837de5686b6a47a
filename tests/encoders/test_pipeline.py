"""extract_cues on real media made on the spot: which parts are measured for which file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmemo.data.samples import face_image, face_video, speech_wav
from mmemo.encoders.pipeline import MediaCues, extract_cues
from mmemo.media import MediaError


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pipeline")
    speech = speech_wav(d / "speech.wav", pitch=70)
    face = face_image(d / "face.png", size=256)
    return {
        "speech": speech,
        "face": face,
        "clip": face_video(d / "clip.mp4", face, speech, seconds=2.0, size="320x240"),
        "mute": face_video(d / "mute.mp4", face, None, seconds=1.0, size="320x240"),
        "dir": d,
    }


def test_audio_file_gives_prosody_only(media):
    cues = extract_cues(media["speech"])
    assert isinstance(cues, MediaCues) and cues.kind == "audio" and cues.face is None
    assert not cues.prosody.empty and cues.prosody.pitch_level in ("low", "normal", "high")
    assert set(cues.timings_s) == {"prosody", "total"}
    d = cues.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["description"].startswith("Voice: pitch ")
    assert "contours" in d["prosody"] and "contours" not in cues.to_dict(contours=False)["prosody"]


def test_switches(media):
    assert extract_cues(media["speech"], prosody=False).prosody is None
    cues = extract_cues(media["clip"], face=False)
    assert cues.kind == "video" and cues.face is None and not cues.prosody.empty


def test_video_with_face_and_speech(media):
    cues = extract_cues(media["clip"], au_fps=5.0)
    assert not cues.face.empty and not cues.prosody.empty
    assert len(cues.face.timestamps) == len(np.arange(0.0, cues.duration_s - 1e-9, 0.2))  # 5 fps
    text = cues.describe()
    assert text.startswith("Face: ") and "Voice: pitch" in text
    json.dumps(cues.to_dict(), allow_nan=False)


def test_video_without_audio_and_image(media):
    mute = extract_cues(media["mute"])
    assert mute.prosody.empty and mute.prosody.reason == "the video has no audio track"
    assert not mute.face.empty
    img = extract_cues(media["face"])
    assert img.kind == "image" and img.prosody is None and not img.face.empty


def test_unreadable_file_raises(media):
    with pytest.raises(MediaError, match="file not found"):
        extract_cues(media["dir"] / "missing.mp4")
    bad = media["dir"] / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(MediaError, match="bad.mp4"):
        extract_cues(bad)
