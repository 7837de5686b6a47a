"""Reference tables compiled to integer arrays, cached beside the user's tables.

Reading ``synonym.xlsx`` and five ``wheelK.xlsx`` files costs about a second and a half
(openpyxl) every run. :func:`compiled_reference_tables` does it once, maps every word of the
reference vocabulary (the keys of ``format.csv``, where the reference looks words up) through
every wheel at both levels with the same :class:`~mmemo.taxonomy.wheels.WheelSet` the metric
uses, and stores the result as plain arrays in ``DIR/.mmemo_ew_cache.npz`` (no pickled
objects: it loads with ``allow_pickle=False``). The cache is keyed on the names, sizes and
modification times of the source files, the neutral policy and :data:`VERSION`; a stale or
unreadable cache is rebuilt. When ``DIR`` is read-only the cache goes to
``~/.cache/mmemo/ew/``.

A word outside the vocabulary maps to nothing in every wheel, as in the reference (its
``map_k`` returns NONE for a word not in the format table). The vectorised dataset metric
over these arrays is :func:`mmemo.metrics.ew_score_compiled`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmemo.taxonomy.wheels import LEVELS

VERSION = 1
CACHE_NAME = ".mmemo_ew_cache.npz"
_SOURCES = ("format.csv", "synonym.xlsx", "wheel_mapping.npz")


@dataclass
class CompiledWheels:
    """``table[level][k, v]``: cluster index of vocabulary word ``v`` in wheel ``k`` (-1: none)."""

    words: dict[str, int]
    clusters: list[str]
    table: dict[str, np.ndarray]  # level -> int32 [K, V + 1]; column V is "not in vocabulary"
    names: list[str]
    description: str
    source: str  # "cache" or "tables"

    @property
    def n_wheels(self) -> int:
        return len(self.names)

    def ids(self, words: list[str]) -> list[int]:
        """Vocabulary index of each word (lowercased, stripped); V for unknown words."""
        unknown = len(self.words)
        get = self.words.get
        return [get(w.lower().strip(), unknown) for w in words]


def _signature(directory: Path, neutral: str) -> str:
    files = sorted(
        p for p in directory.iterdir() if p.name in _SOURCES or p.name.startswith("wheel")
    )
    parts = [f"v{VERSION}", neutral]
    for p in files:
        if p.is_file() and p.name != CACHE_NAME:
            st = p.stat()
            parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def _cache_paths(directory: Path) -> list[Path]:
    key = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mmemo" / "ew"
    return [directory / CACHE_NAME, home / f"{key}.npz"]


def _load(path: Path, signature: str) -> CompiledWheels | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["signature"]) != signature:
                return None
            words = [str(w) for w in z["words"]]
            return CompiledWheels(
                words={w: i for i, w in enumerate(words)},
                clusters=[str(c) for c in z["clusters"]],
                table={lv: z[f"table_{lv}"].astype(np.int32) for lv in LEVELS},
                names=[str(n) for n in z["names"]],
                description=str(z["description"]),
                source="cache",
            )
    except (OSError, KeyError, ValueError):
        return None


def compile_wheelset(ws, vocabulary: list[str]) -> CompiledWheels:
    """Map every vocabulary word through ``ws`` (a ``WheelSet``) at both levels."""
    clusters: dict[str, int] = {}
    table = {}
    for lv in LEVELS:
        t = np.full((ws.n_wheels, len(vocabulary) + 1), -1, np.int32)
        for v, word in enumerate(vocabulary):
            for k, c in enumerate(ws.map_all(word, lv)):
                if c is not None:
                    t[k, v] = clusters.setdefault(c, len(clusters))
        table[lv] = t
    return CompiledWheels(
        words={w: i for i, w in enumerate(vocabulary)},
        clusters=list(clusters),
        table=table,
        names=list(ws.names),
        description=ws.describe(),
        source="tables",
    )


def compiled_reference_tables(
    directory: str | Path, *, neutral: str = "drop", allow_pickle: bool = False
) -> CompiledWheels:
    """The reference tables of ``directory`` as arrays: from the cache, else built and cached."""
    from mmemo.taxonomy.reference import ReferenceTableError, load_reference_tables

    d = Path(directory)
    if not d.is_dir():
        raise ReferenceTableError(f"{d}: reference-table directory not found")
    signature = _signature(d, neutral)
    for path in _cache_paths(d):
        if path.is_file():
            hit = _load(path, signature)
            if hit is not None:
                return hit
    ws = load_reference_tables(d, neutral=neutral, allow_pickle=allow_pickle)
    vocabulary = sorted(set(ws._resolver.fmap) | ({"neutral"} if neutral == "cluster" else set()))
    compiled = compile_wheelset(ws, vocabulary)
    arrays = {
        "signature": np.array(signature),
        "words": np.array(vocabulary, dtype=str),
        "clusters": np.array(compiled.clusters, dtype=str),
        "names": np.array(compiled.names, dtype=str),
        "description": np.array(compiled.description),
        **{f"table_{lv}": compiled.table[lv].astype(np.int16) for lv in LEVELS},
    }
    for path in _cache_paths(d):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
            np.savez_compressed(tmp, **arrays)
            os.replace(tmp, path)
            break
        except OSError:
            continue
    return compiled


def describe_cache(compiled: CompiledWheels) -> str:
    """One line for stderr: the wheels and where they came from."""
    where = "cached arrays" if compiled.source == "cache" else "read from the tables, now cached"
    return f"{compiled.description} [{where}; {len(compiled.words)} words]"


__all__ = ["CompiledWheels", "compile_wheelset", "compiled_reference_tables", "describe_cache"]
