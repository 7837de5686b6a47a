"""The settings of a backbone that must travel with its checkpoint.

A model trained with one prompt must be prompted the same way at inference: the same inputs
mode, task, think switch, frame count and size, pixel limits, system prompt, question and
prompt-template version, the same generation length and dtype. :class:`BackboneSettings`
holds them; :func:`save_settings` writes them to ``mmemo_backbone.json`` beside the weights
(``mmemo train`` does this for every stage's ``final`` folder) and :func:`load_settings` reads
them back, so ``mmemo predict --model DIR`` and ``mmemo eval`` rebuild byte-identical prompts.

Precedence when loading (``Backbone.from_pretrained``): an explicit argument, then the saved
settings, then the defaults below. A checkpoint saved with a newer prompt-template version than
this mmemo knows is refused (its prompts cannot be rebuilt).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

MARKER = "mmemo_backbone.json"
# Version of the prompt layout in mmemo.data.prompts; bump it when the text a row becomes
# changes, so an old checkpoint is never silently prompted with a new layout.
PROMPT_VERSION = 1

# Visual token budget per image/frame: the Qwen2.5-VL model card's recommended range for
# images (min 256, max 1280 visual tokens of 28x28 pixels) and qwen-vl-utils' video defaults
# (128..768 tokens per frame). 1280*28*28 caps a 1080p frame or a 12 MP photo at ~1280 tokens
# instead of the ~2,700 / ~15,500 the released processor limits allow.
IMAGE_MIN_PIXELS = 256 * 28 * 28
IMAGE_MAX_PIXELS = 1280 * 28 * 28
VIDEO_MIN_PIXELS = 128 * 28 * 28
VIDEO_MAX_PIXELS = 768 * 28 * 28


@dataclass
class BackboneSettings:
    """Everything besides the weights that decides a backbone's prompt and generation.

    ``min_pixels``/``max_pixels`` (images) and ``video_min_pixels``/``video_max_pixels`` (per
    frame) bound the visual tokens; ``None`` keeps the processor's own. ``audio_from_video``:
    for a family that reads audio, a row with a video and no audio gets the video's audio
    track as an audio part. ``labels``: a closed label space the model was trained on (kept
    for the record and for ``mmemo eval``), or ``None`` for open answers.
    """

    family: str
    inputs: str = "media"
    task: str = "emotion"
    think: bool = True
    num_frames: int = 4
    max_side: int = 224
    min_pixels: int | None = None
    max_pixels: int | None = None
    video_min_pixels: int | None = None
    video_max_pixels: int | None = None
    sample_rate: int = 16000
    audio_from_video: bool = True
    system: str | None = None  # None: mmemo.data.prompts.SYSTEM_PROMPT
    question: str | None = None  # None: the task's default question
    prompt_version: int = PROMPT_VERSION
    labels: list[str] | None = None
    max_new_tokens: int = 256
    dtype: str = "float32"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "settings") -> BackboneSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown backbone settings {unknown}")
        settings = cls(**data)
        if settings.prompt_version > PROMPT_VERSION:
            raise ValueError(
                f"{source}: saved with prompt template version {settings.prompt_version}, this "
                f"mmemo builds version {PROMPT_VERSION}; upgrade mmemo to prompt it correctly"
            )
        return settings


def load_settings(path: str | Path) -> BackboneSettings | None:
    """The saved settings of checkpoint folder ``path`` (None when it has none: a plain hub
    checkpoint, or a folder written before settings were saved, whose marker names only the
    family)."""
    marker = Path(path) / MARKER
    if not marker.is_file():
        return None
    data = json.loads(marker.read_text())
    if "settings" not in data:
        return None
    return BackboneSettings.from_dict(data["settings"], str(marker))


def saved_family(path: str | Path) -> str | None:
    """The family named in ``path``'s marker (None without a marker)."""
    marker = Path(path) / MARKER
    if not marker.is_file():
        return None
    return json.loads(marker.read_text()).get("family")


def save_settings(path: str | Path, settings: BackboneSettings) -> Path:
    """Write ``mmemo_backbone.json`` (family + settings) into checkpoint folder ``path``."""
    out = Path(path) / MARKER
    payload = {"family": settings.family, "settings": settings.to_dict()}
    out.write_text(json.dumps(payload, indent=2) + "\n")
    return out
