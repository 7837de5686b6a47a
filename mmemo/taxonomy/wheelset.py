"""The wheel data model: a :class:`Wheel` (a tree of words) and a :class:`WheelSet` (K wheels
with a resolver from raw words to clusters, ``map_k`` of docs/metrics.md 1.3).

Shared by the built-in wheels (:mod:`mmemo.taxonomy.wheels`) and the loader of user-supplied
reference tables (:mod:`mmemo.taxonomy.reference`); it imports neither, so neither imports
the other back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["CACHE_SIZE", "LEVELS", "Wheel", "WheelSet"]

LEVELS: tuple[str, ...] = ("level1", "level2")
# Per-level cache bound: free-text completions can bring endless new strings; past the bound the
# cache is emptied and refilled (cheap: one dict per level).
CACHE_SIZE = 200_000


@dataclass
class Wheel:
    """One wheel as a tree ``{level1: {level2: [level3, ...]}}`` plus provenance."""

    name: str
    tree: dict[str, dict[str, list[str]]]
    title: str = ""
    citation: str = ""
    version: str = ""
    extra: dict = field(default_factory=dict)

    def words(self) -> set[str]:
        out: set[str] = set()
        for l1, children in self.tree.items():
            out.add(l1)
            for l2, leaves in children.items():
                out.add(l2)
                out.update(leaves)
        return out

    def sizes(self) -> tuple[int, int, int]:
        """Number of distinct level1, level2 and level3 words."""
        l2 = {w for c in self.tree.values() for w in c}
        l3 = {w for c in self.tree.values() for leaves in c.values() for w in leaves}
        return len(self.tree), len(l2), len(l3)

    def level_maps(
        self,
        key: Callable[[str], str | None] = lambda w: w,
        first_child: str = "listed",
        order: str = "deepest",
    ) -> dict[str, dict[str, str]]:
        """``{"level1": {key(word): l1}, "level2": {key(word): l2}}``.

        ``first_child="listed"`` sends a level-1 word to its first-listed child at level2 (mmemo
        curated); ``"alphabetical"`` to the alphabetically first (reference). When a word occurs
        more than once, ``order="deepest"`` keeps its deepest position (mmemo) and
        ``order="nested"`` the last one written by the reference builder's nested loop
        (level1, then each level2 and its level3 words, cluster by cluster).
        """
        lv1: dict[str, str] = {}
        lv2: dict[str, str] = {}

        def put(word: str, c1: str, c2: str, category: bool = False) -> None:
            k = key(word)
            if k is None:
                if category:  # a level-1 category name that is not a word (GEW quadrants)
                    return
                raise ValueError(f"wheel {self.name!r}: word {word!r} is not in the vocabulary")
            lv1[k] = c1
            lv2[k] = c2

        def child_of(children: dict[str, list[str]]) -> str:
            return next(iter(children)) if first_child == "listed" else sorted(children)[0]

        if order == "nested":
            for l1, children in self.tree.items():
                if children:
                    put(l1, l1, child_of(children), category=True)
                for l2, leaves in children.items():
                    put(l2, l1, l2)
                    for l3 in leaves:
                        put(l3, l1, l2)
        else:
            for l1, children in self.tree.items():
                if children:
                    put(l1, l1, child_of(children), category=True)
            for l1, children in self.tree.items():
                for l2 in children:
                    put(l2, l1, l2)
            for l1, children in self.tree.items():
                for l2, leaves in children.items():
                    for l3 in leaves:
                        put(l3, l1, l2)
        return {"level1": lv1, "level2": lv2}


class WheelSet:
    """K wheels plus a resolver from raw words to ordered candidate keys.

    ``map(word, k, level)`` with ``k`` **1-based** (wheel1..wheelK as in the reference).
    ``map_all(word, level)`` returns the tuple for all wheels (the fast path for metrics).
    """

    def __init__(
        self,
        wheels: list[Wheel],
        tables: list[dict[str, dict[str, str]]],
        resolver: Callable[[str], tuple[str, ...] | None],
        *,
        kind: str,
        neutral: str,
        info: Mapping | None = None,
    ) -> None:
        if len(wheels) != len(tables) or not wheels:
            raise ValueError("WheelSet needs one table per wheel and at least one wheel")
        self.wheels = wheels
        self.kind = kind
        self.neutral = neutral
        self.info = dict(info or {})
        self._tables = tables
        self._resolver = resolver
        self._cache: dict[str, dict[str, tuple[str | None, ...]]] = {lv: {} for lv in LEVELS}
        self._amb: dict[str, dict[str, int]] = {lv: {} for lv in LEVELS}

    # -- public API --------------------------------------------------------------------------
    @property
    def n_wheels(self) -> int:
        return len(self.wheels)

    @property
    def names(self) -> list[str]:
        return [w.name for w in self.wheels]

    def map(self, word: str, k: int, level: str = "level1") -> str | None:
        """Cluster of ``word`` in wheel ``k`` (1-based) at ``level``; ``None`` if unmapped."""
        if not 1 <= k <= len(self.wheels):
            raise IndexError(f"wheel index {k} out of range 1..{len(self.wheels)}")
        return self.map_all(word, level)[k - 1]

    def map_all(self, word: str, level: str = "level1") -> tuple[str | None, ...]:
        """Clusters of ``word`` in every wheel (tuple of length ``n_wheels``)."""
        try:
            return self._cache[level][word]
        except KeyError:
            pass
        if level not in self._cache:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        result = self._compute(word, level)
        cache = self._cache[level]
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        cache[word] = result
        return result

    def clusters(self, k: int, level: str = "level1") -> list[str]:
        """Sorted distinct cluster names of wheel ``k`` (1-based) at ``level``."""
        return sorted(set(self._tables[k - 1][level].values()))

    def ambiguity(self, word: str, level: str = "level1") -> int:
        """Number of wheels in which ``word``'s candidates reach more than one cluster."""
        self.map_all(word, level)
        return self._amb[level].get(word, 0)

    def sizes(self) -> dict[str, tuple[int, int, int]]:
        return {w.name: w.sizes() for w in self.wheels}

    def describe(self) -> str:
        parts = [f"{w.name} L1/L2/L3={'/'.join(map(str, w.sizes()))}" for w in self.wheels]
        return f"{self.kind} wheels (neutral={self.neutral}): " + "; ".join(parts)

    # -- internals ---------------------------------------------------------------------------
    def _compute(self, word: str, level: str) -> tuple[str | None, ...]:
        cands = self._resolver(word)
        if not cands:
            return (None,) * len(self._tables)
        out: list[str | None] = []
        amb = 0
        for table in self._tables:
            lv = table[level]
            hit = None
            reached = set()
            for c in cands:
                cl = lv.get(c)
                if cl is not None:
                    if hit is None:
                        hit = cl
                    reached.add(cl)
            amb += len(reached) > 1
            out.append(hit)
        if amb:
            self._amb[level][word] = amb
        return tuple(out)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"] = {lv: {} for lv in LEVELS}
        return state
