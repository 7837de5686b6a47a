"""``Predictor`` on files every player plays (issue 14): each is predicted, with a note."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def predictor():
    from mmemo.predict import Predictor

    return Predictor.from_pretrained("default")


@pytest.mark.parametrize("name", ["short_audio.mp4", "vp9_opus.webm", "vp9_live.webm"])
def test_audio_shorter_than_video_is_predicted_with_a_note(predictor, media_dir, name):
    pred = predictor.predict(media_dir / name)
    assert set(pred.modalities) == {"face", "voice"}
    assert any("audio track ends at 3." in w for w in pred.warnings), pred.warnings
    assert pred.emotion == "happy"  # the smiling face decides, as on the full clip


def test_rotated_phone_video_finds_the_face(predictor, media_dir):
    pred = predictor.predict(media_dir / "rotated.mp4")
    assert "face" in pred.modalities, pred.warnings
    assert "face crops from" in pred.modalities["face"].detail
    assert "AU12" in pred.cues  # the smile is measured on the upright frames
    assert any("stored rotated" in w for w in pred.warnings)
    assert pred.emotion == "happy"
