"""Turn what a user types (files, folders, globs, manifests) into a list of items to process.

Used by ``mmemo predict`` and ``mmemo eval``. Folders are searched recursively for media
files; a ``.jsonl`` argument is read as a manifest (its bad rows become errors, the good ones
items carrying their transcript, speaker and labels). Nothing here opens media: unreadable
files surface later, per file, as :class:`mmemo.media.MediaError`.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmemo.media import AUDIO_EXTS, IMAGE_EXTS, VIDEO_EXTS

MEDIA_EXTS = AUDIO_EXTS | VIDEO_EXTS | IMAGE_EXTS


@dataclass
class InputItem:
    """One thing to predict: a media file and/or a transcript, with optional metadata."""

    id: str
    path: str | None = None
    transcript: str | None = None
    speaker: str | None = None
    row: dict[str, Any] = field(default_factory=dict)  # the manifest row, when from one

    @property
    def name(self) -> str:
        return self.path or self.id


def _speaker(path: str, speaker_from: str | None) -> str | None:
    """The speaker id of ``path``: ``parent`` (its folder's name) or a regex's first group."""
    if not speaker_from:
        return None
    if speaker_from == "parent":
        return Path(path).parent.name or None
    match = re.search(speaker_from, path)
    if match is None:
        return None
    return match.group(1) if match.groups() else match.group(0)


def _media_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_EXTS)


def expand_inputs(
    specs: list[str],
    speaker_from: str | None = None,
    transcript: str | None = None,
    allow_outside: bool = False,
) -> tuple[list[InputItem], list[tuple[str, str]]]:
    """Items for every argument, plus ``(argument or manifest:line, reason)`` for those that fail.

    Args:
        specs: files, folders (recursive), glob patterns (``**`` allowed), ``.jsonl`` manifests.
        speaker_from: ``"parent"`` or a regular expression whose first group, searched in the
            path, is the speaker id (e.g. ``"Actor_(\\d+)"``). Manifest rows use their
            ``speaker`` field first.
        transcript: a transcript applied to every file that has none (e.g. a single clip).
        allow_outside: let manifests name media outside their folder (absolute or ``../``
            paths; see :mod:`mmemo.data.manifest`).
    """
    if speaker_from and speaker_from != "parent":
        try:
            re.compile(speaker_from)
        except re.error as exc:
            raise ValueError(f"--speaker-from is not a valid regular expression: {exc}") from exc
    items: list[InputItem] = []
    errors: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(path: str, row: dict[str, Any] | None = None) -> None:
        row = row or {}
        key = str(row.get("id") or path)
        if key in seen:
            return
        seen.add(key)
        text = row.get("transcript") or transcript
        speaker = row.get("speaker")
        speaker = str(speaker) if speaker is not None else _speaker(path or "", speaker_from)
        items.append(InputItem(key, path or None, text, speaker, row))

    for spec in specs:
        p = Path(spec)
        if p.suffix.lower() == ".jsonl" and p.is_file():
            _add_manifest(p, add, errors, allow_outside)
        elif p.is_dir():
            found = _media_in(p)
            if not found:
                errors.append((spec, "folder holds no media files"))
            for f in found:
                add(str(f))
        elif any(ch in spec for ch in "*?["):
            matches = sorted(m for m in glob.glob(spec, recursive=True) if Path(m).is_file())
            if not matches:
                errors.append((spec, "pattern matches no file"))
            for m in matches:
                add(m)
        elif p.exists():
            add(str(p))
        else:
            errors.append((spec, "no such file or folder"))
    return items, errors


def _add_manifest(path: Path, add, errors: list[tuple[str, str]], allow_outside: bool) -> None:
    from mmemo.data.manifest import MEDIA_KEYS, ManifestError, read_manifest

    try:
        rows, report = read_manifest(path, allow_outside=allow_outside, on_error="skip")
    except ManifestError as exc:
        errors.append((str(path), str(exc)))
        return
    for err in report.errors:
        errors.append((f"{path}:{err.line}", err.reason))
    for row in rows:
        media = next((row[k] for k in MEDIA_KEYS if row.get(k)), None)
        add(media or "", row)
