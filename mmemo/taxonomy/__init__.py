"""mmemo.taxonomy: the emotion vocabulary.

- project-authored wheels (``data/*.yaml``: Plutchik, Parrott, Willcox, Geneva) with citations;
- ``normalise_label``: free text -> canonical word (morphology, synonyms, multi-word
  expressions, negation), or the nearest label of a given label space;
- ``split_labels``: answer text / list string -> label words (metrics.md 1.1);
- ``load_wheels`` / ``WheelSet``: word -> wheel cluster (``map_k`` of metrics.md 1.3), built-in
  or from user-supplied MER/AffectGPT reference tables;
- ``label_space``: labels of known corpora; ``valence_arousal``: coarse coordinates per word.

Light to import: no torch, no numpy at import time (PyYAML is read on first use).
"""

from __future__ import annotations

from collections.abc import Sequence

from mmemo.taxonomy.corpora import expand_compound, label_space, label_spaces
from mmemo.taxonomy.text import clean_text, split_labels
from mmemo.taxonomy.wheels import BUILTIN_WHEELS, LEVELS, Wheel, WheelSet, load_wheels

__all__ = [
    "BUILTIN_WHEELS",
    "LEVELS",
    "Wheel",
    "WheelSet",
    "clean_text",
    "expand_compound",
    "family",
    "is_negated",
    "label_sentiment",
    "label_space",
    "label_spaces",
    "load_wheels",
    "normalise_label",
    "split_labels",
    "valence_arousal",
    "vocabulary",
]

_SPACE_CACHE: dict[tuple[str, ...], dict[str, str]] = {}


def is_negated(text: str) -> bool:
    """True when ``text`` negates its emotion word ("not happy", "never angry", "isn't sad")."""
    from mmemo.taxonomy.lexicon import NEGATED, get_lexicon

    return get_lexicon().lookup(text) == NEGATED


def _canonical(text: str) -> str | None:
    from mmemo.taxonomy.lexicon import NEGATED, get_lexicon

    canon = get_lexicon().lookup(text)
    return None if canon == NEGATED else canon


def family(text: str) -> str | None:
    """Lexicon family of ``text`` (e.g. "furious" -> "anger"), ``None`` if unknown/negated."""
    from mmemo.taxonomy.lexicon import get_lexicon

    canon = _canonical(text)
    return None if canon is None else get_lexicon().family_of.get(canon)


def normalise_label(text: str, label_space: Sequence[str] | None = None) -> str | None:
    """Canonical emotion word for ``text``, or the nearest label of ``label_space``.

    Without ``label_space``: the lexicon's canonical word ("Happiness!" -> "happy",
    "on edge" -> "edgy", "angrily" -> "angry"); ``None`` when nothing maps or the text is
    negated ("not happy" -> ``None``; use ``is_negated`` to tell the two apart).

    With ``label_space`` (e.g. ``label_space("ravdess")``): the label, spelled as in the space,
    whose canonical word equals the input's; else the first label of the same lexicon family;
    else the first label reached through the family's anchors; else the label sharing the
    input's level-1 cluster on the built-in wheels (Plutchik first). ``None`` if none.
    "furious" -> "angry", "worried" -> "fearful" (RAVDESS), "joyful" -> "happy".
    """
    from mmemo.taxonomy.lexicon import get_lexicon

    canon = _canonical(text)
    if canon is None or label_space is None:
        return canon
    space = tuple(label_space)
    table = _SPACE_CACHE.get(space)
    if table is None:
        table = _SPACE_CACHE[space] = _space_table(space)
    hit = table.get(canon)
    if hit is not None:
        return hit
    lex = get_lexicon()
    fam = lex.family_of.get(canon)
    if fam is not None:
        hit = table.get(f"family:{fam}")
        if hit is not None:
            return hit
        for anchor in lex.candidates(canon):
            hit = table.get(anchor) or table.get(f"family:{lex.family_of.get(anchor)}")
            if hit is not None:
                return hit
    wheels = load_wheels(neutral="cluster")
    clusters = wheels.map_all(canon, "level1")
    for k, cl in enumerate(clusters):
        hit = table.get(f"wheel{k}:{cl}") if cl is not None else None
        if hit is not None:
            return hit
    return None


def _space_table(space: tuple[str, ...]) -> dict[str, str]:
    from mmemo.taxonomy.lexicon import get_lexicon

    lex = get_lexicon()
    wheels = load_wheels(neutral="cluster")
    table: dict[str, str] = {}
    for label in space:
        canon = _canonical(label)
        if canon is None:
            continue
        table.setdefault(canon, label)
        table.setdefault(f"family:{lex.family_of.get(canon)}", label)
        for k, cl in enumerate(wheels.map_all(canon, "level1")):
            if cl is not None:
                table.setdefault(f"wheel{k}:{cl}", label)
    return table


def valence_arousal(word: str) -> tuple[float, float] | None:
    """Coarse (valence, arousal) of an emotion word, each in [-1, 1]; ``None`` if unknown.

    Source: the hand-placed family coordinates of ``data/lexicon.yaml`` (after Russell's 1980
    circumplex and the Geneva Emotion Wheel), shared by every word of a family. Negated text
    returns ``None``. Approximate: for priors and sentiment sign, not a measured norm.
    """
    from mmemo.taxonomy.lexicon import get_lexicon

    fam = family(word)
    return None if fam is None else get_lexicon().va[fam]


def label_sentiment(words: Sequence[str], threshold: float = 0.1) -> int:
    """Deterministic sentiment of a label list: +1, -1 or 0 (metrics.md 3, mmemo default).

    The sign of the mean lexicon valence of the words that map (unknown and negated words are
    ignored); 0 when none maps or ``|mean| < threshold``. "neutral" has valence 0.
    """
    vals = [va[0] for w in words if (va := valence_arousal(w)) is not None]
    if not vals:
        return 0
    mean = sum(vals) / len(vals)
    return 0 if abs(mean) < threshold else (1 if mean > 0 else -1)


def vocabulary() -> list[str]:
    """Every canonical word of the built-in lexicon (one per lemma group)."""
    from mmemo.taxonomy.lexicon import get_lexicon

    return get_lexicon().canonicals
