"""Shared pieces of the corpus converters: the report, the manifest writer, source readers.

Every converter reads one corpus layout and writes manifest rows (JSONL, see
:mod:`mmemo.data.manifest`) through :class:`ManifestWriter`, which

- writes media paths relative to the output manifest's folder when the media lie inside it,
  and absolute otherwise (so the manifest keeps working wherever it is read from);
- refuses a second row with an id already written (recorded as skipped, not silently renamed);
- writes to a temporary file and renames it at the end, so a crash never leaves half a manifest.

Source items that cannot be understood (a bad file name, a missing column, broken JSON) are
recorded in :attr:`ConvertReport.skipped` as ``(item, reason)`` and the conversion goes on.
Only a source that cannot be used at all (it does not exist) raises :class:`ConvertError`.

Split names are normalised to ``train`` / ``val`` / ``test`` (``dev``, ``valid``,
``publictest`` ... map to ``val``); the corpus's own name for the split is kept where the
corpus has one (e.g. FER2013 ``usage``).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MEDIA_KEYS = ("video", "audio", "image")
_MAX_LISTED = 20


class ConvertError(ValueError):
    """The source cannot be converted at all (missing, or not the layout the converter reads)."""


@dataclass
class ConvertReport:
    """What a conversion did.

    ``rows_written``: manifest rows written to ``out``. ``skipped``: one ``(source item,
    reason)`` per source item that produced no row. ``label_counts``: rows per ``emotion``
    label (rows without one are counted under ``"<none>"``).
    """

    out: Path
    rows_written: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    label_counts: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        """A few human-readable lines: rows written, per-label counts, skipped items."""
        lines = [f"wrote {self.rows_written} rows to {self.out}"]
        if self.label_counts:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(self.label_counts.items()))
            lines.append(f"  labels: {counts}")
        if self.skipped:
            lines.append(f"  skipped {len(self.skipped)} source items:")
            lines += [f"    {item}: {reason}" for item, reason in self.skipped[:_MAX_LISTED]]
            if len(self.skipped) > _MAX_LISTED:
                lines.append(f"    ... and {len(self.skipped) - _MAX_LISTED} more")
        return "\n".join(lines)


class ManifestWriter:
    """Write manifest rows to ``out`` (use as a context manager; see the module docstring)."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.root = self.out.resolve().parent
        self.report = ConvertReport(out=self.out)
        self._ids: dict[str, str] = {}
        self._tmp = self.out.with_name(self.out.name + ".tmp")
        self._fh: Any = None

    def __enter__(self) -> ManifestWriter:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self._tmp.open("w", encoding="utf-8")
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._fh.close()
        if exc_type is None:
            os.replace(self._tmp, self.out)
        else:
            self._tmp.unlink(missing_ok=True)

    def media_path(self, path: str | Path) -> str:
        """``path`` relative to the manifest folder when inside it, else absolute (POSIX form)."""
        p = Path(path).absolute()
        resolved = p.resolve()
        if resolved.is_relative_to(self.root):
            return resolved.relative_to(self.root).as_posix()
        return p.as_posix()

    def write(self, row: dict[str, Any], source: str) -> bool:
        """Write one row (media values are Paths or path strings); False if its id is taken."""
        rid = str(row["id"])
        if rid in self._ids:
            self.skip(source, f"duplicate id {rid!r} (first from {self._ids[rid]})")
            return False
        self._ids[rid] = source
        out_row = {"id": rid}
        for key, value in row.items():
            if key == "id" or value is None:
                continue
            out_row[key] = self.media_path(value) if key in MEDIA_KEYS else value
        self._fh.write(json.dumps(out_row, ensure_ascii=False) + "\n")
        self.report.rows_written += 1
        self.report.label_counts[str(out_row.get("emotion", "<none>"))] += 1
        return True

    def skip(self, item: str | Path, reason: str) -> None:
        self.report.skipped.append((str(item), reason))


# ---------------------------------------------------------------------------- helpers


def require_source(src: str | Path, want: str = "any") -> Path:
    """``src`` as a Path; ConvertError if missing or not a ``want`` ("file", "dir", "any")."""
    p = Path(src)
    if not p.exists():
        raise ConvertError(f"{p}: source not found")
    if want == "dir" and not p.is_dir():
        raise ConvertError(f"{p}: expected a folder")
    if want == "file" and not p.is_file():
        raise ConvertError(f"{p}: expected a file")
    return p


def source_files(src: Path, suffixes: Iterable[str]) -> list[Path]:
    """``src`` itself if it is a file, else the files under it with one of ``suffixes``, sorted."""
    if src.is_file():
        return [src]
    wanted = {s.lower() for s in suffixes}
    return sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in wanted)


_SPLIT_WORDS = {
    "train": "train",
    "training": "train",
    "dev": "val",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "publictest": "val",
    "test": "test",
    "privatetest": "test",
}


def split_from_name(name: str) -> str | None:
    """The normalised split named by a file or folder name (``train_sent_emo.csv`` -> train)."""
    words = re.split(r"[^a-z]+", Path(name).stem.lower())
    for word in words:
        if word in _SPLIT_WORDS:
            return _SPLIT_WORDS[word]
    return None


def snake(name: str) -> str:
    """A source column name as a manifest key: ``Dialogue_ID`` -> ``dialogue_id``,
    ``StartTime`` -> ``start_time``, ``Sr No.`` -> ``sr_no``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    return re.sub(r"[^0-9a-z]+", "_", spaced.lower()).strip("_")


RESERVED_KEYS = frozenset(
    {"id", *MEDIA_KEYS, "transcript", "emotion", "emotions", "aus", "valence", "arousal"}
    | {"reasoning", "speaker", "split", "dataset", "source_row"}
)


def extra_keys(obj: dict[str, Any], consumed: Iterable[str] = ()) -> dict[str, Any]:
    """The source fields not ``consumed`` by a converter, under snake_case keys.

    A field whose key would clash with a manifest key is kept as ``source_<key>`` (so the
    FEA-20K ``dataset`` field becomes ``source_dataset``). Empty values are dropped.
    """
    skip = set(consumed)
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in skip or value in (None, "", []):
            continue
        name = snake(key)
        out[f"source_{name}" if name in RESERVED_KEYS else name] = value
    return out


def as_int(value: Any, what: str) -> int:
    """``value`` as an int; ValueError naming ``what`` otherwise."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{what} is not an integer: {value!r}") from None


def parse_list(value: Any) -> list[str]:
    """A list value or a list string (``"[happy, sad]"``, ``"['a', 'b']"``, ``"a, b"``)."""
    if value is None:
        return []
    if isinstance(value, list):
        items = value
    else:
        text = str(value).strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        items = re.split(r"[,;]", text)
    out = []
    for item in items:
        word = str(item).strip().strip("'\"").strip()
        if word:
            out.append(word)
    return out


def find_media(folder: Path | None, names: Iterable[str]) -> Path | None:
    """The first of ``folder/name`` that exists as a file, else None."""
    if folder is None:
        return None
    for name in names:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def resolve_relative(value: str, *bases: Path | None) -> Path:
    """A source media path: absolute as given, else under the first base where it exists
    (else under the first base given)."""
    p = Path(value)
    if p.is_absolute():
        return p
    real = [b for b in bases if b is not None]
    for base in real:
        if (base / p).exists():
            return base / p
    return real[0] / p if real else p


def first_key(obj: dict[str, Any], keys: Iterable[str]) -> tuple[str | None, Any]:
    """The first of ``keys`` present in ``obj`` with a non-empty value, and its value."""
    for key in keys:
        value = obj.get(key)
        if value not in (None, "", []):
            return key, value
    return None, None


# ---------------------------------------------------------------------------- source readers


def csv_header(path: Path) -> list[str] | None:
    """The column names of a CSV file (None when the file cannot be read as UTF-8 CSV)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return [h.strip() for h in next(csv.reader(fh), [])]
    except (UnicodeDecodeError, csv.Error):
        return None


def read_csv(
    path: Path, required: Iterable[str], writer: ManifestWriter
) -> Iterator[tuple[str, dict[str, str]]]:
    """Yield ``(source_ref, row)`` for each data row of a CSV (``source_ref`` = ``file:line``).

    A file that cannot be decoded or lacks a ``required`` column is skipped whole, with the
    reason, through ``writer``.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in required if c not in header]
            if missing:
                writer.skip(path, f"missing column(s) {missing} (has {header})")
                return
            reader.fieldnames = header
            while True:
                line = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    writer.skip(f"{path}:{line}", f"unreadable CSV row ({exc})")
                    return
                if None in row:  # more fields than columns
                    writer.skip(f"{path}:{line}", "more fields than header columns")
                    continue
                yield f"{path.name}:{line}", {k: (v or "").strip() for k, v in row.items()}
    except UnicodeDecodeError as exc:
        writer.skip(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})")


def read_records(path: Path, writer: ManifestWriter) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(source_ref, object)`` from a JSON list file or a JSON Lines file.

    ``.jsonl`` lines that are not JSON objects are skipped one by one; a ``.json`` file that
    does not parse is skipped whole (``source_ref`` is ``file:line`` or ``file[index]``).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        writer.skip(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        return
    if path.suffix.lower() == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            ref = f"{path.name}:{number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                writer.skip(ref, f"bad JSON: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                writer.skip(ref, f"expected a JSON object, got {type(obj).__name__}")
                continue
            yield ref, obj
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        writer.skip(path, f"bad JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
        return
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        writer.skip(path, f"expected a JSON list of objects, got {type(data).__name__}")
        return
    for index, obj in enumerate(data):
        ref = f"{path.name}[{index}]"
        if not isinstance(obj, dict):
            writer.skip(ref, f"expected a JSON object, got {type(obj).__name__}")
            continue
        yield ref, obj


def convert_named_audio(
    src: str | Path, out: str | Path, dataset: str, parse_name: Any, layout: str
) -> ConvertReport:
    """Convert a folder of audio files whose names encode their labels (ASED, EmoDB).

    ``parse_name(stem)`` returns the row's label fields, or None for a name that does not
    decode (skipped with ``layout`` named as the expected form). Rows go under ``audio``.
    """
    root = require_source(src, "dir")
    with ManifestWriter(out) as writer:
        for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in (".wav", ".flac")):
            fields = parse_name(path.stem)
            if fields is None:
                writer.skip(path, f"file name is not {layout}")
                continue
            row = {"id": f"{dataset}_{path.stem}", "audio": path, **fields, "dataset": dataset}
            writer.write(row, str(path))
    return writer.report
