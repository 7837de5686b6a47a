"""Prompt and chat building for the reasoning backbones, and answer parsing.

A manifest row becomes one user turn: media parts (``{"type": "image"|"video"|"audio",
"path": ...}``) the backbone family can read, then text: measured cue descriptions (the row's
``cues`` field) when ``inputs`` is ``"cues"`` or ``"both"``, then the task question and the
output-format instruction. With ``think=True`` the model is asked for
``<think>...</think><answer>...</answer>``; with ``think=False`` for ``<answer>...</answer>`` only.

The SFT target for a row is built from its ``reasoning`` (when thinking) and its label.
Parsing takes the first ``<think>`` span and the **last** ``<answer>`` span, as the rewards do
(docs/rewards.md "Common parsing").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INPUT_MODES = ("media", "cues", "both")
TASKS = ("emotion", "emotions", "aus")
MEDIA_KEYS = ("image", "video", "audio")

SYSTEM_PROMPT = (
    "You are an emotion analyst. You read faces, voices and measured cues, reason about the "
    "evidence, and name the emotion."
)

_QUESTIONS = {
    "emotion": "What emotion does the person express? Answer with one word.",
    "emotions": "Which emotions does the person express? List the emotion words, separated by commas.",
    "aus": (
        "Which facial action units are active, and what emotion do they show? Name the active "
        "AUs (e.g. AU6, AU12) in your reasoning, without negations or hedging, and answer with "
        "one emotion word."
    ),
}
THINK_FORMAT = (
    "First reason about the evidence inside <think> </think> tags, then give the final answer "
    "inside <answer> </answer> tags."
)
NO_THINK_FORMAT = "Give only the final answer inside <answer> </answer> tags."

_THINK_RE = re.compile(r"<think>(.*?)</think>", re.DOTALL)
_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_FULL_THINK_RE = re.compile(r"\s*<think>.*?</think>\s*<answer>.*?</answer>\s*", re.DOTALL)
_FULL_ANSWER_RE = re.compile(r"\s*<answer>.*?</answer>\s*", re.DOTALL)
_AU_RE = re.compile(r"\bAU0*(\d+)\b", re.IGNORECASE)


class PromptError(ValueError):
    """A row cannot be turned into a prompt; the message names the row and the reason."""


@dataclass
class PromptOptions:
    """How rows become prompts.

    ``inputs``: ``media`` (media parts only), ``cues`` (cue text only), ``both``.
    ``modalities``: media kinds the backbone reads (others fall back to cue text if present).
    ``task``: ``emotion`` (one label), ``emotions`` (open-vocabulary list) or ``aus``.
    ``audio_from_video``: a backbone that reads audio gets a video row's audio track as an
    audio part when the row has no ``audio`` of its own (the MER layout: video files only).
    """

    inputs: str = "media"
    think: bool = True
    task: str = "emotion"
    modalities: tuple[str, ...] = ()
    audio_from_video: bool = True
    system: str | None = SYSTEM_PROMPT
    question: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.inputs not in INPUT_MODES:
            raise ValueError(f"inputs must be one of {INPUT_MODES}, got {self.inputs!r}")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")


def row_id(row: dict) -> str:
    return str(row.get("id", "<no id>"))


def cue_text(row: dict) -> str:
    """The row's measured-cue description as one string ('' when it has none).

    ``cues`` may be a string, the JSON ``mmemo cues`` writes (its ``description``), the
    ``mmemo.cues/1`` payload, or a flat mapping (see :func:`describe_cues`).
    """
    cues = row.get("cues")
    if not cues:
        return ""
    if isinstance(cues, str) and cues.lstrip().startswith("{"):
        import json

        try:
            cues = json.loads(cues)
        except ValueError:
            return cues
    if isinstance(cues, dict) and ("schema" in cues or "face" in cues or "prosody" in cues):
        # `mmemo cues` JSON or the mmemo.cues/1 payload: the encoders' own words
        from mmemo.encoders.contract import CueError, parse_cues

        try:
            return str(cues.get("description") or parse_cues(cues).describe())
        except CueError as exc:
            raise PromptError(f"row {row_id(row)}: unreadable cues: {exc}") from None
    if isinstance(cues, dict):
        return describe_cues(cues)
    return str(cues)


_LEVEL_NAMES = {
    "pitch_level": "pitch",
    "energy_level": "energy",
    "speed_level": "speaking rate",
    "intonation": "intonation",
}


def describe_cues(cues: dict) -> str:
    """Text for a structured cue dict (the layout the grounding reward checks: ``aus`` as
    ``{AU: intensity 0-5}`` or a list of present AUs, ``pitch_level``/``energy_level``/
    ``speed_level``/``intonation`` words); free text under ``text`` is appended."""
    parts = []
    aus = cues.get("aus")
    if isinstance(aus, dict):
        active = [
            f"{k} ({float(v):.1f})"
            for k, v in aus.items()
            if isinstance(v, (int, float)) and v >= 1.0
        ]
        parts.append("active AUs (intensity 0-5): " + (", ".join(active) if active else "none"))
    elif isinstance(aus, (list, tuple)):
        parts.append("active AUs: " + (", ".join(map(str, aus)) if aus else "none"))
    for key, name in _LEVEL_NAMES.items():
        if cues.get(key):
            parts.append(f"{name} {cues[key]}")
    for key, value in cues.items():
        if (
            key not in _LEVEL_NAMES
            and key not in ("aus", "aus_measured", "text")
            and isinstance(value, str)
        ):
            parts.append(f"{key}: {value}")
    if cues.get("text"):
        parts.append(str(cues["text"]))
    return "; ".join(parts)


def resolve_media(row: dict, key: str, base_dir: str | Path | None) -> str | None:
    """Absolute path of the row's ``key`` media (paths in manifests are relative to the
    manifest's folder), or None when the row has none."""
    value = row.get(key)
    if not value:
        return None
    path = Path(value)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return str(path)


def user_text(row: dict, opts: PromptOptions) -> str:
    """The text part of the user turn: cues (if asked for), transcript, question, format."""
    lines = []
    if opts.inputs in ("cues", "both"):
        cues = cue_text(row)
        if not cues and opts.inputs == "cues":
            raise PromptError(f"row {row_id(row)}: inputs='cues' but the row has no 'cues' text")
        if cues:
            lines.append(f"Measured cues: {cues}")
    if row.get("transcript"):
        lines.append(f'Transcript: "{row["transcript"]}"')
    lines.append(opts.question or _QUESTIONS[opts.task])
    lines.append(THINK_FORMAT if opts.think else NO_THINK_FORMAT)
    return "\n".join(lines)


def build_messages(
    row: dict, opts: PromptOptions, base_dir: str | Path | None = None
) -> list[dict]:
    """The prompt messages (system + user) for one row, media parts first.

    Media parts carry ``path`` (absolute); adapters decode them with :mod:`mmemo.media`.
    A video row without ``audio`` read by a family that hears contributes its audio track
    (right after the video part) unless ``opts.audio_from_video`` is off.
    """
    parts: list[dict] = []
    if opts.inputs in ("media", "both"):
        for key in MEDIA_KEYS:
            path = resolve_media(row, key, base_dir)
            if path is None:
                continue
            if key in opts.modalities:
                parts.append({"type": key, "path": path})
            if (
                key == "video"
                and opts.audio_from_video
                and "audio" in opts.modalities
                and not row.get("audio")
            ):
                parts.append({"type": "audio", "path": path})
        if not parts and opts.inputs == "media" and opts.modalities and not cue_text(row):
            raise PromptError(
                f"row {row_id(row)}: no media this backbone reads ({', '.join(opts.modalities)}) "
                "and no 'cues' text"
            )
    text = user_text(row, opts)
    if not parts and opts.inputs == "media" and cue_text(row) and "Measured cues" not in text:
        text = f"Measured cues: {cue_text(row)}\n{text}"
    messages: list[dict] = []
    if opts.system:
        messages.append({"role": "system", "content": [{"type": "text", "text": opts.system}]})
    messages.append({"role": "user", "content": [*parts, {"type": "text", "text": text}]})
    return messages


def answer_text(row: dict, task: str = "emotion") -> str:
    """The ground-truth answer string for ``task`` (raises when the row lacks that label)."""
    if task == "emotions":
        words = row.get("emotions") or ([row["emotion"]] if row.get("emotion") else [])
        if not words:
            raise PromptError(f"row {row_id(row)}: task 'emotions' needs 'emotions' or 'emotion'")
        return ", ".join(words)
    label = row.get("emotion")
    if not label and row.get("emotions"):
        label = row["emotions"][0]
    if not label:
        raise PromptError(f"row {row_id(row)}: no 'emotion' label for the SFT target")
    return str(label)


def target_text(row: dict, think: bool = True, task: str = "emotion") -> str:
    """The SFT target: ``<think>reasoning</think>\\n<answer>label</answer>`` (think needs the
    row's ``reasoning``), or ``<answer>label</answer>`` with ``think=False``."""
    answer = f"<answer>{answer_text(row, task)}</answer>"
    if not think:
        return answer
    reasoning = row.get("reasoning")
    if not reasoning:
        raise PromptError(f"row {row_id(row)}: think=True needs a 'reasoning' SFT target")
    return f"<think>{reasoning}</think>\n{answer}"


@dataclass
class ParsedAnswer:
    """A completion split into its think and answer spans (missing spans are '')."""

    think: str
    answer: str
    well_formed: bool

    def labels(self, task: str = "emotion") -> dict[str, Any]:
        """Labels in manifest keys: ``emotion`` (lowercased answer, '' when missing),
        ``emotions`` (comma-separated words), ``aus`` (AU ids named in the think span)."""
        words = [w.strip().lower() for w in self.answer.split(",") if w.strip()]
        out: dict[str, Any] = {"emotion": self.answer.strip().strip(".").lower()}
        if task == "emotions":
            out["emotions"] = words
        aus = sorted({f"AU{int(m)}" for m in _AU_RE.findall(self.think)}, key=lambda a: int(a[2:]))
        out["aus"] = aus
        return out


def parse_completion(text: str, think: bool = True) -> ParsedAnswer:
    """Split a completion into think/answer spans.

    >>> parse_completion("<think>AU6 and AU12</think><answer>happy</answer>").answer
    'happy'
    """
    think_m = _THINK_RE.search(text)
    answers = _ANSWER_RE.findall(text)
    well = bool((_FULL_THINK_RE if think else _FULL_ANSWER_RE).fullmatch(text))
    return ParsedAnswer(
        think=think_m.group(1).strip() if think_m else "",
        answer=answers[-1].strip() if answers else "",
        well_formed=well,
    )
