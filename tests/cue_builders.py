"""Cue objects built with the encoders' own dataclasses, and the forms consumers receive.

The describe() text and ``to_dict()`` JSON come from the real ``AUCues``/``ProsodyCues``/
``MediaCues`` code, so a test that feeds them to a reward or to synthesis checks what the
encoders actually write (the measured numbers are set by hand; ``tests/test_golden_cues.py``
runs the encoders on real media).
"""

from __future__ import annotations

import json

import numpy as np

from mmemo.encoders.base import AU_NAMES, AUCues, ProsodyCues
from mmemo.encoders.pipeline import MediaCues


def au_cues(active: dict[str, float], frames: int = 4) -> AUCues:
    """Real ``AUCues`` with the encoder's 17 AUs; ``active`` AUs on in every frame."""
    aus = tuple(AU_NAMES)
    x = np.zeros((frames, len(aus)), np.float32)
    for au, v in active.items():
        x[:, aus.index(au)] = v
    return AUCues(
        aus=aus, timestamps=np.arange(frames) * 0.1, intensity=x, presence=x >= 1.0,
        face_count=np.ones(frames, np.int64), head_pose=np.zeros((frames, 3), np.float32),
    )  # fmt: skip


def media_cues(active, pitch="high", energy="high", speed="high", intonation="rising"):
    prosody = ProsodyCues(
        duration_s=2.0, pitch_level=pitch, energy_level=energy, speed_level=speed,
        intonation=intonation, f0_change_st=4.0, f0_range_st=9.0, pause_count=1,
        level_reference="population:male",
    )  # fmt: skip
    return MediaCues("clip.mp4", "video", 2.0, face=au_cues(active), prosody=prosody)


def forms(cues: MediaCues) -> list:
    """The forms consumers receive: the object, `mmemo cues --json` (as a dict and as a
    string), and the describe() text."""
    as_json = json.dumps(cues.to_dict(contours=False))
    return [cues, json.loads(as_json), as_json, cues.describe()]
