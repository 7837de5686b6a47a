"""Emotion wheels and the word -> wheel-cluster mapping used by the EW metric and reward.

A ``WheelSet`` holds K wheels. Each wheel has two lookup levels (docs/metrics.md 1.2):
``level1`` maps every word of the wheel to its innermost (coarse) category, ``level2`` maps a
word to its level-2 parent (a level-1 word goes to one fixed child). ``WheelSet.map(word, k,
level)`` is the ``map_k`` of metrics.md 1.3: the word's ordered candidate list is produced by a
resolver, and the first candidate present in wheel k gives the cluster.

Two resolvers exist:

- built-in wheels (``load_wheels()``): the mmemo lexicon (morphology, synonyms, multi-word
  expressions, negation); candidates = the canonical word, then its family's curated anchors.
  A level-1 word goes at level2 to its first-listed child (curated, not alphabetical);
- user-supplied reference tables (``load_wheels(path)``, see ``mmemo.taxonomy.reference``):
  exact reference semantics, format -> synonym -> sorted candidates (alphabetical tie-break).

Neutral policy (``neutral=``): ``"drop"`` (parity) leaves "neutral" out of the vocabulary, so
it maps to ``None`` and neutral-only samples are skipped; ``"cluster"`` (strict) makes
"neutral" its own cluster in every wheel and level.

``map`` is O(1) after the first call for a given raw string: results for all wheels are cached
per (level, raw string) as one tuple.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

# the data model lives in mmemo.taxonomy.wheelset (shared with the reference-table loader)
from mmemo.taxonomy.wheelset import LEVELS, Wheel, WheelSet

__all__ = ["LEVELS", "NEUTRAL_POLICIES", "BUILTIN_WHEELS", "Wheel", "WheelSet", "load_wheels"]

NEUTRAL_POLICIES: tuple[str, ...] = ("drop", "cluster")
BUILTIN_WHEELS: tuple[str, ...] = ("plutchik", "parrott", "willcox", "geneva")


def _read_wheel_yaml(name: str) -> Wheel:
    from mmemo.taxonomy.lexicon import _load_yaml

    raw = _load_yaml(f"{name}.yaml")
    tree = {
        str(l1): {str(l2): [str(w) for w in (leaves or [])] for l2, leaves in (ch or {}).items()}
        for l1, ch in raw["tree"].items()
    }
    extra = {
        k: v for k, v in raw.items() if k not in {"name", "tree", "title", "citation", "version"}
    }
    return Wheel(
        name=raw["name"],
        tree=tree,
        title=raw.get("title", ""),
        citation=" ".join(str(raw.get("citation", "")).split()),
        version=str(raw.get("version", "")),
        extra=extra,
    )


@functools.cache
def builtin_wheels() -> tuple[Wheel, ...]:
    """The four project-authored wheels, in ``BUILTIN_WHEELS`` order."""
    return tuple(_read_wheel_yaml(n) for n in BUILTIN_WHEELS)


def _builtin_set(neutral: str, names: Iterable[str] | None = None) -> WheelSet:
    from mmemo.taxonomy.lexicon import get_lexicon

    lex = get_lexicon()
    chosen = [w for w in builtin_wheels() if names is None or w.name in set(names)]
    if names is not None and len(chosen) != len(set(names)):
        unknown = set(names) - {w.name for w in chosen}
        raise ValueError(f"unknown built-in wheel(s) {sorted(unknown)}; have {BUILTIN_WHEELS}")
    tables = [w.level_maps(key=lex.surface.get, first_child="listed") for w in chosen]
    if neutral == "cluster":
        for t in tables:
            for lv in LEVELS:
                t[lv]["neutral"] = "neutral"
    return WheelSet(
        chosen,
        tables,
        BuiltinResolver(neutral),
        kind="builtin",
        neutral=neutral,
        info={"lexicon_version": lex.version},
    )


class BuiltinResolver:
    """Picklable word -> candidates through the mmemo lexicon (negated text -> None)."""

    def __init__(self, neutral: str) -> None:
        self.neutral = neutral

    def __call__(self, word: str) -> tuple[str, ...] | None:
        from mmemo.taxonomy.lexicon import NEGATED, get_lexicon

        lex = get_lexicon()
        canon = lex.lookup(word)
        if canon is None or canon == NEGATED:
            return None
        if lex.family_of.get(canon) == "neutral":
            return ("neutral",) if self.neutral == "cluster" else None
        return lex.candidates(canon)


_SETS: dict[tuple, WheelSet] = {}


def load_wheels(
    reference_tables: str | Path | None = None,
    neutral: str = "drop",
    *,
    allow_pickle: bool = False,
    names: Iterable[str] | None = None,
) -> WheelSet:
    """Load the wheels used by the EW metric and reward (built-in sets cached per arguments).

    - ``reference_tables=None``: the built-in project-authored wheels (Plutchik, Parrott,
      Willcox, Geneva) with the mmemo lexicon; ``names`` picks a subset.
    - ``reference_tables=DIR``: user-supplied MER/AffectGPT tables (format.csv, synonym.xlsx,
      wheel1..5.xlsx; docs/metrics.md 8) with reference semantics. ``allow_pickle=True`` also
      permits ``wheel_mapping.npz`` when the xlsx/csv files are absent (it holds pickles).
    - ``neutral``: ``"drop"`` (parity) or ``"cluster"`` (strict; neutral is its own cluster).
    """
    if neutral not in NEUTRAL_POLICIES:
        raise ValueError(f"neutral must be one of {NEUTRAL_POLICIES}, got {neutral!r}")
    if reference_tables is not None:
        # Not cached: the files may change between calls; load once and keep the object.
        from mmemo.taxonomy.reference import load_reference_tables

        return load_reference_tables(reference_tables, neutral=neutral, allow_pickle=allow_pickle)
    key = (neutral, tuple(names) if names is not None else None)
    hit = _SETS.get(key)
    if hit is None:
        hit = _SETS[key] = _builtin_set(neutral, names)
    return hit
