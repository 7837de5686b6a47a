"""Loader for user-supplied MER/AffectGPT reference tables (parity runs only).

mmemo never ships these tables (provenance unclear, docs/metrics.md 8); the user points to a
directory holding:

- ``format.csv``: columns ``name`` (base word) and ``format`` (comma-joined variants);
  gives variant -> [base], and every base also maps to itself;
- ``synonym.xlsx``: columns ``word_runN`` / ``synonym_runN`` (N = 1..8 in the reference);
  per run, the wheel word maps to itself and each listed synonym maps to the wheel word; runs
  are merged by set union -> base -> [wheel words];
- ``wheel1.xlsx .. wheelK.xlsx``: columns ``level1, level2, level3``, blank cells forward-filled
  (each column independently, as the reference reader does), lowercased and stripped;
- ``wheel_mapping.npz`` (optional): precomputed maps; it stores pickled objects, so it is read
  only with ``allow_pickle=True`` and only when the csv/xlsx files are absent.

The resulting ``WheelSet`` uses reference semantics: a word is lowercased and stripped (no
other normalisation), looked up in the format map, expanded through the synonym map, and the
alphabetically first candidate present in wheel k gives the cluster (level2: a level-1 word goes
to its alphabetically first child).
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

from mmemo.taxonomy.text import split_labels
from mmemo.taxonomy.wheelset import LEVELS, Wheel, WheelSet

__all__ = ["ReferenceTableError", "load_reference_tables", "read_wheel_xlsx"]

log = logging.getLogger(__name__)


class ReferenceTableError(ValueError):
    """A reference table is missing or malformed; the message names the file and row."""


def _norm(x: object) -> str:
    return str(x).strip().lower()


def _read_xlsx_rows(path: Path) -> tuple[list[str], list[tuple]]:
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - openpyxl is a declared dependency
        raise ReferenceTableError(f"{path}: reading .xlsx needs openpyxl") from exc
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise ReferenceTableError(f"{path}: not a readable .xlsx file ({exc})") from exc
    try:
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
    finally:
        wb.close()
    if not rows:
        raise ReferenceTableError(f"{path}: empty sheet")
    header = ["" if h is None else str(h).strip() for h in rows[0]]
    return header, rows[1:]


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def read_wheel_xlsx(path: str | Path, name: str | None = None) -> Wheel:
    """One ``wheelK.xlsx`` as a ``Wheel`` (forward-filled, lowercased, stripped)."""
    path = Path(path)
    header, rows = _read_xlsx_rows(path)
    cols = {}
    for lv in ("level1", "level2", "level3"):
        if lv not in header:
            raise ReferenceTableError(f"{path}: missing column {lv!r} (have {header})")
        cols[lv] = header.index(lv)
    tree: dict[str, dict[str, list[str]]] = {}
    cur = {"level1": "", "level2": "", "level3": ""}
    for i, row in enumerate(rows, start=2):
        for lv, j in cols.items():
            v = row[j] if j < len(row) else None
            if not _blank(v):
                cur[lv] = _norm(v)
        if not cur["level1"] or not cur["level2"]:
            raise ReferenceTableError(f"{path} row {i}: no level1/level2 value to forward-fill")
        leaves = tree.setdefault(cur["level1"], {}).setdefault(cur["level2"], [])
        if cur["level3"]:
            leaves.append(cur["level3"])
    return Wheel(name=name or path.stem, tree=tree, title=f"reference table {path.name}")


def _read_format(path: Path) -> dict[str, list[str]]:
    fmap: dict[str, list[str]] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"name", "format"} <= set(reader.fieldnames):
            raise ReferenceTableError(f"{path}: needs columns 'name' and 'format'")
        for i, row in enumerate(reader, start=2):
            raw = _norm(row["name"] or "")
            if not raw:
                raise ReferenceTableError(f"{path} row {i}: empty 'name'")
            for variant in split_labels(row["format"] or "", answer_tags=False):
                fmap.setdefault(variant, []).append(raw)
            fmap.setdefault(raw, []).append(raw)
    return fmap


def _read_synonyms(path: Path, wheel_words: set[str]) -> dict[str, list[str]]:
    header, rows = _read_xlsx_rows(path)
    runs = sorted(
        {m.group(1) for h in header if (m := re.fullmatch(r"word_(run\d+)", h))},
        key=lambda r: int(r[3:]),
    )
    if not runs:
        raise ReferenceTableError(f"{path}: no 'word_runN' columns (have {header})")
    merged: dict[str, set[str]] = {}
    for run in runs:
        if f"synonym_{run}" not in header:
            raise ReferenceTableError(f"{path}: column 'word_{run}' without 'synonym_{run}'")
        jw, js = header.index(f"word_{run}"), header.index(f"synonym_{run}")
        for i, row in enumerate(rows, start=2):
            if _blank(row[jw]):
                continue
            raw = _norm(row[jw])
            if wheel_words and raw not in wheel_words:
                raise ReferenceTableError(f"{path} row {i}: word_{run}={raw!r} is on no wheel")
            merged.setdefault(raw, set()).add(raw)
            syns = "" if _blank(row[js]) else str(row[js])
            for syn in split_labels(syns, answer_tags=False):
                merged.setdefault(syn, set()).add(raw)
    return {k: sorted(v) for k, v in merged.items()}


def _from_npz(path: Path) -> tuple[dict, dict, list[Wheel], list[dict[str, dict[str, str]]]]:
    import numpy as np

    data = np.load(path, allow_pickle=True)
    fmap = data["format_mapping"].tolist()
    smap = data["raw_mapping"].tolist()
    whole = data["wheel_map_whole"].tolist()
    names = sorted(whole, key=lambda n: int(re.sub(r"\D", "", n) or 0))
    wheels = [Wheel(name=n, tree={}, title=f"{path.name}[{n}]") for n in names]
    tables = [{lv: dict(whole[n][lv]) for lv in LEVELS} for n in names]
    return fmap, smap, wheels, tables


class ReferenceResolver:
    """Picklable word -> sorted candidate wheel words (metrics.md 1.3 ``map_k`` first half)."""

    def __init__(self, fmap: dict[str, list[str]], smap: dict[str, list[str]], neutral: str):
        self.fmap, self.smap, self.neutral = fmap, smap, neutral

    def __call__(self, word: str) -> tuple[str, ...] | None:
        w = word.lower().strip()
        if self.neutral == "cluster" and w == "neutral":
            return ("neutral",)
        bases = self.fmap.get(w)
        if bases is None:
            return None
        return tuple(sorted(c for b in bases if b in self.smap for c in self.smap[b]))


def load_reference_tables(
    directory: str | Path, *, neutral: str = "drop", allow_pickle: bool = False
) -> WheelSet:
    """Build a ``WheelSet`` with reference semantics from a MER/AffectGPT table directory."""
    d = Path(directory)
    if not d.is_dir():
        raise ReferenceTableError(f"{d}: reference-table directory not found")
    wheel_files = sorted(
        (p for p in d.glob("wheel*.xlsx") if re.fullmatch(r"wheel\d+\.xlsx", p.name)),
        key=lambda p: int(p.stem[5:]),
    )
    have_tables = (d / "format.csv").is_file() and (d / "synonym.xlsx").is_file() and wheel_files
    if have_tables:
        wheels = [read_wheel_xlsx(p) for p in wheel_files]
        tables = [w.level_maps(first_child="alphabetical", order="nested") for w in wheels]
        words = set().union(*(w.words() for w in wheels))
        fmap = _read_format(d / "format.csv")
        smap = _read_synonyms(d / "synonym.xlsx", words)
        source = "xlsx/csv"
    elif (d / "wheel_mapping.npz").is_file():
        if not allow_pickle:
            raise ReferenceTableError(
                f"{d}: only wheel_mapping.npz found; it holds pickled objects, pass "
                "allow_pickle=True (CLI: --allow-pickle) if you trust the file"
            )
        fmap, smap, wheels, tables = _from_npz(d / "wheel_mapping.npz")
        source = "wheel_mapping.npz"
    else:
        missing = [n for n in ("format.csv", "synonym.xlsx", "wheel1.xlsx") if not (d / n).exists()]
        raise ReferenceTableError(f"{d}: missing reference tables {missing}")

    if neutral == "cluster":
        for t in tables:
            for lv in LEVELS:
                t[lv]["neutral"] = "neutral"

    resolve = ReferenceResolver(fmap, smap, neutral)
    info = {
        "source": source,
        "directory": str(d),
        "format_entries": len(fmap),
        "synonym_entries": len(smap),
    }
    ws = WheelSet(wheels, tables, resolve, kind="reference", neutral=neutral, info=info)
    log.info("%s; format %d entries, synonym %d entries", ws.describe(), len(fmap), len(smap))
    return ws
