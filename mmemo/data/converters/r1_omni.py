"""Video emotion sets in the R1-Omni JSON layout (MAFW, DFEW, and the EMER cold-start data).

The source is a JSON list (or JSON Lines) of objects in one of two styles:

- conversation style: ``{"video": "DFEW/videos/1.mp4", "conversations": [{"from": "human",
  "value": "<video>\\n<audio>\\nAs an emotional recognition expert ..."}, {"from": "gpt",
  "value": "<think>...</think>\\n<answer>happy</answer>"}]}``; the reply may also be a bare
  label (``"sad"``), as in the RLVR training files;
- problem/solution style (R1-V): ``{"path": "...mp4", "problem": "...", "solution":
  "<answer>happy</answer>"}``.

``emotion`` is the ``<answer>`` text (or the bare reply), lower-cased; a reply that lists
several labels separated by commas gives ``emotions`` instead. ``reasoning`` is the
``<think>`` span when there is one. Relative video paths are resolved against ``media_dir``
(default: the JSON file's folder); the path is written even when the clip is not there yet,
so ``mmemo data validate`` reports missing clips.

Run: ``mmemo data convert dfew dfew_train.json dfew.jsonl --media-dir /path/to/videos``
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mmemo.data.converters.base import (
    ConvertReport,
    ManifestWriter,
    extra_keys,
    first_key,
    read_records,
    require_source,
    resolve_relative,
    source_files,
    split_from_name,
)

_THINK_RE = re.compile(r"<think>(.*?)</think>", re.DOTALL)
_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_PLACEHOLDER_RE = re.compile(r"<(video|audio|image)>\s*")
_VIDEO_KEYS = ("video", "path", "video_path")
_CONSUMED = {"conversations", "problem", "solution", "id", *_VIDEO_KEYS}


def parse_response(text: str) -> tuple[str, str | None]:
    """``(answer, think)`` from a reply ``<think>..</think><answer>..</answer>`` or a bare label.

    >>> parse_response("<think>Brows drawn together.</think>\\n<answer>angry</answer>")
    ('angry', 'Brows drawn together.')
    """
    think_m = _THINK_RE.search(text)
    answer_m = _ANSWER_RE.search(text)
    think = think_m.group(1).strip() if think_m else None
    if answer_m is not None:
        answer = answer_m.group(1).strip()
    elif "<" in text:
        raise ValueError("reply has tags but no <answer>...</answer>")
    else:
        answer = text.strip()
    if not answer:
        raise ValueError("empty answer")
    return answer, think or None


def _turns(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """(prompt, reply) from either style."""
    conversations = obj.get("conversations")
    if isinstance(conversations, list):
        prompt = reply = None
        for turn in conversations:
            if not isinstance(turn, dict):
                continue
            speaker = str(turn.get("from", turn.get("role", ""))).lower()
            value = turn.get("value", turn.get("content"))
            if not isinstance(value, str):
                continue
            if speaker in ("human", "user") and prompt is None:
                prompt = value
            elif speaker in ("gpt", "assistant"):
                reply = value
        return prompt, reply
    problem, solution = obj.get("problem"), obj.get("solution")
    return (problem if isinstance(problem, str) else None), (
        solution if isinstance(solution, str) else None
    )


def _convert(
    src: str | Path, out: str | Path, dataset: str, media_dir: str | Path | None
) -> ConvertReport:
    root = require_source(src)
    media_root = Path(media_dir) if media_dir is not None else None
    with ManifestWriter(out) as writer:
        for path in source_files(root, (".json", ".jsonl")):
            split = split_from_name(path.name)
            for ref, obj in read_records(path, writer):
                _, video = first_key(obj, _VIDEO_KEYS)
                if not isinstance(video, str):
                    writer.skip(ref, f"no video path (looked for {list(_VIDEO_KEYS)})")
                    continue
                prompt, reply = _turns(obj)
                if reply is None:
                    writer.skip(ref, "no answer (no gpt/assistant turn and no 'solution')")
                    continue
                try:
                    answer, think = parse_response(reply)
                except ValueError as exc:
                    writer.skip(ref, str(exc))
                    continue
                words = [w.strip().lower() for w in answer.split(",") if w.strip()]
                labels: dict[str, Any] = (
                    {"emotions": words} if len(words) > 1 else {"emotion": words[0]}
                )
                video_path = resolve_relative(video, media_root, path.parent)
                row = {
                    **extra_keys(obj, _CONSUMED),
                    "id": f"{dataset}_{obj.get('id') or Path(video).stem}",
                    "video": video_path,
                    **labels,
                    "reasoning": think,
                    "prompt": _PLACEHOLDER_RE.sub("", prompt).strip() if prompt else None,
                    "source_video": video,
                    "split": split,
                    "source_row": ref,
                    "dataset": dataset,
                }
                writer.write(row, ref)
    return writer.report


def convert_mafw(
    src: str | Path, out: str | Path, media_dir: str | Path | None = None
) -> ConvertReport:
    """Convert MAFW in the R1-Omni JSON layout (see the module docstring) to ``out``.

    Row keys: ``video``, ``emotion`` (or ``emotions``), ``reasoning`` (when the reply has a
    think span), ``prompt`` (the question without ``<video>``/``<audio>`` placeholders),
    ``source_video`` (the path as written in the JSON), ``split``, ``source_row``,
    ``dataset`` = ``mafw``, plus any other keys of the source object.
    """
    return _convert(src, out, "mafw", media_dir)


def convert_dfew(
    src: str | Path, out: str | Path, media_dir: str | Path | None = None
) -> ConvertReport:
    """Convert DFEW in the R1-Omni JSON layout to ``out`` (keys as :func:`convert_mafw`)."""
    return _convert(src, out, "dfew", media_dir)
