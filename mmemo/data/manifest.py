"""Manifests: JSONL files with one example per line, validated row by row.

A row (see architecture.md) has an ``id``; media under ``video``/``audio``/``image``
(relative to the manifest's folder, or absolute); optional ``transcript``; labels
``emotion`` (one word), ``emotions`` (open vocabulary list), ``aus`` (e.g. ``["AU6","AU12"]``),
``valence``/``arousal`` in [-1, 1]; optional ``reasoning``, ``speaker``, ``split``, ``cues``
(measured-cue text or object, e.g. from ``mmemo cues``; enough input for cue-reading models).
Unknown keys are kept.

Path policy: a media path must stay inside the manifest's folder. ``../`` escapes (symlinks
included) and absolute paths (``/etc/passwd``) are refused unless ``allow_outside=True``
(``--allow-outside`` on the commands) or the file lies under a folder you trust, listed in
the environment variable ``MMEMO_MEDIA_ROOTS`` (``os.pathsep``-separated), so a manifest
shared with you cannot make a job read arbitrary files. ``mmemo data convert`` writes
absolute paths when the corpus lies outside the manifest's folder, and says so.

Validation never stops at the first problem: every bad row is reported with its line number
and reason, and loading can skip bad rows while reporting them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MEDIA_KEYS = ("video", "audio", "image")
# What each task needs in a row besides media/transcript.
TASK_LABELS: dict[str, tuple[str, ...]] = {
    "discrete": ("emotion",),
    "openset": ("emotions",),
    "au": ("aus",),
    "va": ("valence", "arousal"),
    "sentiment": ("sentiment",),
    "sft": ("reasoning",),
}
_AU_RE = re.compile(r"^AU\d{1,2}$")


class ManifestError(ValueError):
    """A manifest cannot be used at all (missing file, or bad rows when loading strictly)."""


@dataclass(frozen=True)
class RowError:
    """One bad row: where it is and why it is bad."""

    manifest: str
    line: int
    reason: str
    row_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.manifest}:{self.line}"
        return (
            f"{where} (id {self.row_id!r}): {self.reason}"
            if self.row_id
            else f"{where}: {self.reason}"
        )


@dataclass
class ValidationReport:
    """The outcome of :func:`validate_manifest`."""

    manifest: str
    n_rows: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def n_bad_rows(self) -> int:
        return len({e.line for e in self.errors})

    @property
    def ok(self) -> bool:
        return not self.errors and self.n_rows > 0

    def summary(self) -> str:
        if self.n_rows == 0 and not self.errors:
            return f"{self.manifest}: no rows"
        good = self.n_rows - self.n_bad_rows
        return f"{self.manifest}: {self.n_rows} rows, {good} valid, {self.n_bad_rows} with errors"

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest,
            "rows": self.n_rows,
            "valid": self.n_rows - self.n_bad_rows,
            "errors": [{"line": e.line, "id": e.row_id, "reason": e.reason} for e in self.errors],
        }


def iter_manifest(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield ``(line_number, row, parse_error)`` for every non-blank line of a JSONL file."""
    p = Path(path)
    if not p.is_file():
        raise ManifestError(f"{p}: manifest not found")
    with p.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, f"bad JSON: {exc.msg} (column {exc.colno})"
                continue
            if not isinstance(row, dict):
                yield number, None, f"expected a JSON object, got {type(row).__name__}"
                continue
            yield number, row, None


MEDIA_ROOTS_ENV = "MMEMO_MEDIA_ROOTS"


def trusted_roots() -> list[Path]:
    """Folders listed in ``MMEMO_MEDIA_ROOTS``, whose files any manifest may name."""
    import os

    value = os.environ.get(MEDIA_ROOTS_ENV, "")
    return [Path(v).expanduser().resolve() for v in value.split(os.pathsep) if v.strip()]


def resolve_media_path(value: str, root: Path, allow_outside: bool = False) -> Path:
    """Resolve a media path of a row against the manifest folder ``root``; ValueError if refused."""
    p = Path(value).expanduser()
    resolved = (root / p).resolve()  # an absolute p replaces root
    if allow_outside or resolved.is_relative_to(root.resolve()):
        return resolved if not p.is_absolute() else p
    if any(resolved.is_relative_to(t) for t in trusted_roots()):
        return resolved if not p.is_absolute() else p
    what = "is an absolute path outside" if p.is_absolute() else "escapes"
    raise ValueError(
        f"path {value!r} {what} the manifest folder: refused (pass --allow-outside / "
        f"allow_outside=True if you trust this manifest, or list the media folder in "
        f"{MEDIA_ROOTS_ENV})"
    )


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_row(
    row: dict[str, Any],
    root: Path,
    task: str | None = None,
    check_media: bool = True,
    allow_outside: bool = False,
    probe_media: bool = False,
) -> list[str]:
    """Every reason why ``row`` is bad (empty list when it is fine)."""
    problems: list[str] = []
    rid = row.get("id")
    if rid is None or rid == "":
        problems.append("missing 'id'")
    elif not isinstance(rid, (str, int)) or isinstance(rid, bool):
        problems.append(f"'id' must be a string, got {type(rid).__name__}")
    has_input = False
    for key in MEDIA_KEYS:
        if key not in row or row[key] is None:
            continue
        value = row[key]
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{key!r} must be a non-empty path string, got {value!r}")
            continue
        has_input = True
        try:
            path = resolve_media_path(value, root, allow_outside)
        except ValueError as exc:
            problems.append(f"{key!r}: {exc}")
            continue
        if check_media and not path.is_file():
            problems.append(f"{key!r}: media file not found: {path}")
        elif probe_media:
            from mmemo.media import MediaError, probe

            try:
                probe(path)
            except MediaError as exc:
                problems.append(f"{key!r}: {exc.reason}: {path}")
    transcript = row.get("transcript")
    if transcript is not None:
        if isinstance(transcript, str):
            has_input = has_input or bool(transcript.strip())
        else:
            problems.append(f"'transcript' must be a string, got {type(transcript).__name__}")
    cues = row.get("cues")
    if cues is not None:
        if isinstance(cues, (str, dict)):
            has_input = has_input or bool(cues)
        else:
            problems.append(f"'cues' must be text or an object, got {type(cues).__name__}")
    if not has_input:
        problems.append(
            "no input: give at least one of 'video', 'audio', 'image', 'transcript', 'cues'"
        )
    problems += _check_labels(row)
    if task is not None:
        if task not in TASK_LABELS:
            raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASK_LABELS)}")
        for key in TASK_LABELS[task]:
            if row.get(key) in (None, "", []):
                problems.append(f"no {key!r} label, which task {task!r} needs")
    return problems


def _check_labels(row: dict[str, Any]) -> list[str]:
    problems = []
    for key in ("emotion", "reasoning", "sentiment", "split"):
        v = row.get(key)
        if v is not None and (not isinstance(v, str) or (key == "emotion" and not v.strip())):
            problems.append(f"{key!r} must be a non-empty string, got {v!r}")
    speaker = row.get("speaker")
    if speaker is not None and (not isinstance(speaker, (str, int)) or isinstance(speaker, bool)):
        problems.append(f"'speaker' must be a string or integer, got {speaker!r}")
    emotions = row.get("emotions")
    if emotions is not None and (
        not isinstance(emotions, list)
        or not all(isinstance(e, str) and e.strip() for e in emotions)
    ):
        problems.append(f"'emotions' must be a list of non-empty strings, got {emotions!r}")
    aus = row.get("aus")
    if aus is not None:
        if not isinstance(aus, list) or not all(isinstance(a, str) for a in aus):
            problems.append(f"'aus' must be a list of strings like 'AU12', got {aus!r}")
        else:
            bad = [a for a in aus if not _AU_RE.match(a.strip().upper())]
            if bad:
                problems.append(f"'aus' has entries that are not action units: {bad}")
    for key in ("valence", "arousal"):
        v = row.get(key)
        if v is None:
            continue
        if not _is_number(v):
            problems.append(f"{key!r} must be a number, got {v!r}")
        elif not -1.0 <= v <= 1.0:
            problems.append(f"{key!r} must lie in [-1, 1], got {v}")
    return problems


def validate_manifest(
    path: str | Path,
    task: str | None = None,
    check_media: bool = True,
    allow_outside: bool = False,
    probe_media: bool = False,
) -> ValidationReport:
    """Check every row of a manifest; report all bad rows (line, id, reason), never stop early."""
    p = Path(path)
    report = ValidationReport(str(p))
    root = p.resolve().parent
    seen: dict[str, int] = {}
    for line, row, parse_error in iter_manifest(p):
        report.n_rows += 1
        if parse_error is not None:
            report.errors.append(RowError(str(p), line, parse_error))
            continue
        assert row is not None
        rid = row.get("id")
        rid_s = str(rid) if rid is not None else None
        for reason in check_row(row, root, task, check_media, allow_outside, probe_media):
            report.errors.append(RowError(str(p), line, reason, rid_s))
        if rid_s is not None:
            if rid_s in seen:
                report.errors.append(
                    RowError(str(p), line, f"duplicate id (first on line {seen[rid_s]})", rid_s)
                )
            else:
                seen[rid_s] = line
    return report


def read_manifest(
    path: str | Path,
    task: str | None = None,
    allow_outside: bool = False,
    on_error: str = "raise",
    check_media: bool = True,
) -> tuple[list[dict[str, Any]], ValidationReport]:
    """Valid rows as dicts (media paths made absolute) plus the validation report.

    ``on_error="raise"`` raises :class:`ManifestError` listing the bad rows; ``"skip"`` drops
    them (they stay listed in the report, so nothing is lost silently).
    """
    if on_error not in ("raise", "skip"):
        raise ValueError("on_error must be 'raise' or 'skip'")
    p = Path(path)
    report = validate_manifest(p, task, check_media, allow_outside)
    if report.errors and on_error == "raise":
        shown = "\n".join(f"  {e}" for e in report.errors[:20])
        more = f"\n  ... and {len(report.errors) - 20} more" if len(report.errors) > 20 else ""
        raise ManifestError(f"{report.summary()}:\n{shown}{more}")
    bad_lines = {e.line for e in report.errors}
    root = p.resolve().parent
    rows = []
    for line, row, _ in iter_manifest(p):
        if line in bad_lines or row is None:
            continue
        row = dict(row)
        for key in MEDIA_KEYS:
            if isinstance(row.get(key), str):
                row[key] = str(resolve_media_path(row[key], root, allow_outside))
        row["id"] = str(row["id"])
        rows.append(row)
    return rows, report


def load_manifest(
    path: str | Path,
    task: str | None = None,
    allow_outside: bool = False,
    on_error: str = "raise",
    check_media: bool = True,
):
    """Load a manifest into a Hugging Face ``datasets.Dataset`` (media paths absolute).

    Columns are the union of all rows' keys (missing values are None). See
    :func:`read_manifest` for ``on_error``.
    """
    import datasets

    rows, _ = read_manifest(path, task, allow_outside, on_error, check_media)
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    columns = {k: [row.get(k) for row in rows] for k in keys}
    try:
        return datasets.Dataset.from_dict(columns)
    except Exception as exc:  # pyarrow type clash in a user column
        for k, values in columns.items():
            kinds = {type(v).__name__ for v in values if v is not None}
            if len(kinds) > 1:
                raise ManifestError(f"{path}: column {k!r} mixes types {sorted(kinds)}") from exc
        raise ManifestError(f"{path}: cannot build a dataset ({exc})") from exc


def write_manifest(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows as JSONL (UTF-8, one object per line)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return p
