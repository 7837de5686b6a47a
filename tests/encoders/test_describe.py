"""Cue text and grounded rationales: only measured cues are ever cited."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mmemo.encoders.base import AU_NAMES, AUCues, ProsodyCues
from mmemo.encoders.describe import (
    PROTOTYPE_AUS,
    canonical_label,
    describe_cues,
    grounded_rationale,
)
from mmemo.encoders.pipeline import MediaCues

AUS = tuple(AU_NAMES)


def _face(present: dict[str, float], n: int = 20, level: float = 3.0) -> AUCues:
    """AUCues where each AU in ``present`` is on (at ``level``) in that share of n frames."""
    intensity = np.zeros((n, len(AUS)), np.float32)
    for au, share in present.items():
        intensity[: int(round(share * n)), AUS.index(au)] = level
    return AUCues(
        aus=AUS,
        timestamps=np.arange(n) / 10.0,
        intensity=intensity,
        presence=intensity >= 1.0,
        face_count=np.ones(n, np.int64),
        head_pose=np.zeros((n, 3), np.float32),
    )


def _voice(pitch="high", energy="high", speed="high", intonation="rising") -> ProsodyCues:
    return ProsodyCues(
        duration_s=3.0, f0_change_st=4.2, f0_range_st=6.0, intonation=intonation,
        pitch_level=pitch, energy_level=energy, speed_level=speed, pause_count=2,
    )  # fmt: skip


def test_prosody_describe_matches_the_documented_form():
    assert _voice().describe() == "pitch high and rising (+4 st), loud, fast, 2 pauses"
    v = _voice("low", "low", "low", "flat")
    v.pause_count = 1
    assert v.describe() == "pitch low and flat, soft, slow, 1 pause"


def test_describe_cues_joins_face_and_voice():
    face = _face({"AU6": 0.8, "AU12": 0.8}, level=4.0)
    cues = MediaCues("x.mp4", "video", 3.0, face=face, prosody=_voice())
    text = describe_cues(cues)
    assert text == f"Face: {face.describe()}. Voice: {_voice().describe()}."
    assert "AU6+AU12 strong in 80% of frames" in text
    assert describe_cues(_voice()) == "Voice: pitch high and rising (+4 st), loud, fast, 2 pauses."
    assert describe_cues(MediaCues("a.wav", "audio", 1.0)) == "No cues measured."
    empty = ProsodyCues(empty=True, reason="silent audio (loudest frame -97 dBFS)")
    assert (
        describe_cues(empty) == "Voice: no speech prosody (silent audio (loudest frame -97 dBFS))."
    )
    with pytest.raises(TypeError, match="MediaCues"):
        describe_cues("text")


def test_rationale_cites_supporting_measured_cues():
    cues = MediaCues("x.mp4", "video", 2.0, face=_face({"AU6": 0.7, "AU12": 0.9, "AU4": 0.5}),
                     prosody=_voice())  # fmt: skip
    text = grounded_rationale(cues, "Happiness")
    assert text.startswith("The measured cues point to Happiness:")
    assert "AU6 (cheek raiser) in 70% of frames" in text
    assert "AU12 (lip corner puller) in 90% of frames" in text
    assert "loud voice" in text and "high pitch" in text and "fast speech" in text
    assert "AU4" not in text  # measured, but not part of the happy prototype


def test_rationale_without_support_says_so():
    cues = MediaCues("x.mp4", "video", 2.0, face=_face({"AU6": 0.7, "AU12": 0.9}),
                     prosody=_voice("high", "high", "high", "rising"))  # fmt: skip
    text = grounded_rationale(cues, "sad")
    assert text.startswith("No measured cue directly supports sad.")
    assert "Measured: Face:" in text
    odd = grounded_rationale(cues, "wistful")
    assert "no cue prototype" in odd


def test_rationale_never_cites_an_unmeasured_au():
    rng = np.random.default_rng(0)
    for _ in range(50):
        present = {au: float(rng.uniform(0.05, 1.0)) for au in rng.choice(AUS, 4, replace=False)}
        face = _face(present)
        for label in PROTOTYPE_AUS:
            text = grounded_rationale(face, label)
            for au in re.findall(r"AU\d+(?= \()", text):
                assert face.frac_present[au] >= 0.1, (label, au, text)


def test_rationale_for_neutral_face_and_empty_parts():
    assert "no facial action unit present" in grounded_rationale(_face({}), "neutral")
    empty = MediaCues("x.mp4", "video", 1.0, face=AUCues(empty=True, reason="no face found"),
                      prosody=ProsodyCues(empty=True, reason="silent audio"))  # fmt: skip
    text = grounded_rationale(empty, "angry")
    assert text.startswith("No measured cue directly supports angry.")
    assert "no face found" in text and "silent audio" in text


def test_canonical_label():
    assert canonical_label(" Anger ") == "angry"
    assert canonical_label("joy") == "happy"
    assert canonical_label("scared") == "fearful"
    assert canonical_label("wistful") is None
