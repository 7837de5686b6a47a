"""Shared test helpers: tiny backbones built once per session, a tiny manifest with real
media (astronaut PNG, espeak-ng speech, an ffmpeg face clip) and the cues measured on it,
and rewards for the trainer-mechanics tests (never added to a recipe's rewards)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

_BUILT: dict[tuple[str, str], Path] = {}


def tiny_checkpoint(family: str, root: Path) -> Path:
    """Build (once per root) the tiny ``family`` checkpoint and return its folder."""
    from mmemo.models.tiny import build_tiny

    key = (family, str(root))
    if key not in _BUILT:
        _BUILT[key] = build_tiny(family, root / family)
    return _BUILT[key]


# label, AU annotations (the labels AU-F1 rewards compare with)
ROWS = [("happy", ["AU6", "AU12"]), ("sad", ["AU1", "AU15"]), ("angry", ["AU4", "AU7"]),
        ("neutral", [])]  # fmt: skip


def make_manifest(root: Path) -> Path:
    """A 4-row manifest with image, audio and video on every row, labels, and the cues the
    encoders measure on the clip (``mmemo cues`` JSON, as a string). ``reasoning`` is the
    first clause of the measured voice description ("pitch low and rising then falling"):
    short enough for a tiny model to learn in a few SFT steps, and checkable by the
    cue-grounding reward."""
    from mmemo.data.samples import face_image, face_video, speech_wav
    from mmemo.encoders.pipeline import extract_cues

    root.mkdir(parents=True, exist_ok=True)
    img = face_image(root / "face.png", size=128)
    wav = speech_wav(root / "speech.wav", text="I am happy to see you")
    face_video(root / "clip.mp4", img, wav, seconds=1.0, size="160x120", fps=8)
    cues = extract_cues(root / "clip.mp4", au_fps=4.0)
    reasoning = " ".join(cues.prosody.describe().split()[:2])  # e.g. "pitch low"
    rows = []
    for i, (label, aus) in enumerate(ROWS):
        rows.append(
            {
                "id": f"r{i}",
                "image": "face.png",
                "audio": "speech.wav",
                "video": "clip.mp4",
                "emotion": label,
                "emotions": [label],
                "aus": aus,
                "cues": json.dumps(cues.to_dict(contours=False)),
                "reasoning": reasoning,
                "speaker": f"s{i % 2}",
            }
        )
    path = root / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


class HashReward:
    """Deterministic pseudo-random reward in [0, 1) from the completion text, so that GRPO
    groups have varying rewards (zero variance would give zero gradients).

    For the trainer-mechanics tests only (``tests/training/test_grpo.py``: reward-matrix
    layout, media towers in the loss forward), which involve no recipe reward. Never add it
    to a recipe's rewards: it would hide real rewards that are constant (issue 13); a recipe
    run must vary on its own rewards (``tests/training/test_recipes.py``). No YAML factory on
    purpose."""

    __name__ = "hash_reward"

    def __call__(self, completions, **kwargs):
        out = []
        for c in completions:
            text = c if isinstance(c, str) else str(c)
            out.append((zlib.crc32(text.encode()) % 1000) / 1000.0)
        return out


class IdReward:
    """Reward = a number derived from the row ``id`` only (same for all G rows of a prompt)."""

    __name__ = "id_reward"

    def __call__(self, completions, id=None, **kwargs):  # noqa: A002 - TRL column name
        return [float(int(i[1:]) + 1) for i in id]


def get_id_reward() -> IdReward:
    return IdReward()
