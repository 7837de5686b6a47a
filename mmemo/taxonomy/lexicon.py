"""The built-in emotion lexicon: surface forms -> canonical words -> families.

Data: ``mmemo/taxonomy/data/lexicon.yaml`` (hand-written; see its header for provenance).
``Lexicon.lookup`` turns free text into one canonical word in this order:

1. cleaning (case, quotes, brackets, punctuation; ``clean_text``);
2. multi-word expressions ("on edge" -> "edgy", "fed up" -> "frustrated");
3. exact surface forms (each lemma group lists its inflections: "happily" -> "happy");
4. negation: a negator token ("not", "never", "no", "isn't", "without", ...) before the emotion
   word -> ``NEGATED`` (the caller treats it as *not that emotion*; ``normalise_label`` returns
   ``None``);
5. filler removal ("feeling very sad" -> "sad") and rule-based morphology for unseen forms
   ("saddened" -> "sadden" -> "sad", "angrily" -> "angry", "cheerfulness" -> "cheerful").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources

from mmemo.taxonomy.text import clean_text, tokens

__all__ = ["NEGATED", "Lexicon", "get_lexicon"]

NEGATED = "<negated>"

# Words that carry no emotion of their own inside a label phrase.
_FILLERS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "im",
        "i'm",
        "am",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "feel",
        "feels",
        "feeling",
        "felt",
        "seem",
        "seems",
        "seemed",
        "seeming",
        "look",
        "looks",
        "looked",
        "looking",
        "very",
        "really",
        "quite",
        "extremely",
        "slightly",
        "somewhat",
        "so",
        "too",
        "deeply",
        "highly",
        "mildly",
        "little",
        "bit",
        "kind",
        "sort",
        "of",
        "rather",
        "more",
        "most",
        "overly",
        "totally",
        "utterly",
        "completely",
        "fairly",
        "pretty",
        "incredibly",
        "super",
        "emotion",
        "emotions",
        "emotional",
        "expression",
        "expressions",
        "mood",
        "state",
        "sense",
        "he",
        "she",
        "they",
        "we",
        "you",
        "it",
        "person",
        "speaker",
        "someone",
        "character",
        "appears",
        "appear",
        "sounds",
        "sound",
        "voice",
        "face",
        "facial",
        "tone",
        "overall",
        "mostly",
        "mainly",
        "generally",
        "clearly",
        "visibly",
        "also",
        "just",
        "still",
        "somehow",
        "and",
    ]
)

# (suffix, replacement) rules for unseen inflections, tried in order; see _morph_candidates.
_SUFFIX_RULES: tuple[tuple[str, str], ...] = (
    ("iness", "y"),
    ("ily", "y"),
    ("ied", "y"),
    ("ier", "y"),
    ("iest", "y"),
    ("fulness", "ful"),
    ("ousness", "ous"),
    ("ness", ""),
    ("ment", ""),
    ("ened", ""),
    ("ened", "en"),
    ("ing", ""),
    ("ing", "e"),
    ("ed", ""),
    ("ed", "e"),
    ("ly", ""),
    ("ly", "le"),
    ("ity", ""),
    ("ity", "e"),
    ("er", ""),
    ("est", ""),
    ("en", ""),
    ("es", ""),
    ("s", ""),
)


@dataclass
class Lexicon:
    """Parsed lexicon tables (built once per process by ``get_lexicon``)."""

    surface: dict[str, str] = field(default_factory=dict)  # surface form -> canonical
    family_of: dict[str, str] = field(default_factory=dict)  # canonical -> family
    anchors: dict[str, tuple[str, ...]] = field(default_factory=dict)  # family -> canonicals
    va: dict[str, tuple[float, float]] = field(default_factory=dict)  # family -> (v, a)
    phrases: dict[str, str] = field(default_factory=dict)  # cleaned phrase -> canonical
    negators: frozenset[str] = frozenset()
    negator_phrases: tuple[str, ...] = ()
    version: str = ""
    _memo: dict[str, str | None] = field(default_factory=dict, repr=False)

    @property
    def canonicals(self) -> list[str]:
        """Every canonical word (one per lemma group), in file order."""
        return list(self.family_of)

    def family_members(self, family: str) -> list[str]:
        return [c for c, f in self.family_of.items() if f == family]

    def _exact(self, text: str) -> str | None:
        hit = self.phrases.get(text)
        if hit is not None:
            return hit
        return self.surface.get(text)

    def _morph(self, word: str) -> str | None:
        for cand in _morph_candidates(word):
            hit = self.surface.get(cand)
            if hit is not None:
                return hit
        return None

    def is_negated(self, text: str) -> bool:
        """True when cleaned ``text`` contains a negator token or phrase."""
        padded = f" {text} "
        if any(f" {p} " in padded for p in self.negator_phrases):
            return True
        return any(tok in self.negators for tok in tokens(text))

    def lookup(self, text: str) -> str | None:
        """Canonical word for free text, ``NEGATED``, or ``None`` when nothing maps (memoised)."""
        try:
            return self._memo[text]
        except KeyError:
            pass
        if len(self._memo) >= 100_000:
            self._memo.clear()
        hit = self._memo[text] = self._lookup(text)
        return hit

    def _lookup(self, text: str) -> str | None:
        t = clean_text(text)
        if not t:
            return None
        hit = self._exact(t)
        if hit is not None:
            return hit
        if self.is_negated(t):
            return NEGATED
        content = [w for w in tokens(t) if w not in _FILLERS]
        if not content:
            return None
        joined = " ".join(content)
        hit = self._exact(joined)
        if hit is not None:
            return hit
        if len(content) == 1:
            return self._morph(content[0])
        return None

    def candidates(self, canonical: str) -> tuple[str, ...]:
        """The word itself then its family's anchors (curated preference order)."""
        fam = self.family_of.get(canonical)
        if fam is None:
            return (canonical,)
        out = [canonical]
        out.extend(a for a in self.anchors[fam] if a != canonical)
        return tuple(out)


def _morph_candidates(word: str) -> list[str]:
    out: list[str] = []
    for suffix, repl in _SUFFIX_RULES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            out.append(stem + repl)
            # undouble a final consonant: "saddened" -> "sadd" -> "sad"
            if repl == "" and len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "aeiou":
                out.append(stem[:-1])
    return out


def _load_yaml(name: str) -> dict:
    import yaml

    text = resources.files("mmemo.taxonomy").joinpath("data", name).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


@functools.cache
def get_lexicon() -> Lexicon:
    """Load and validate ``data/lexicon.yaml`` (cached; raises ValueError on a bad table)."""
    raw = _load_yaml("lexicon.yaml")
    lex = Lexicon(version=str(raw.get("version", "")))
    for fam, spec in raw["families"].items():
        v, a = spec["va"]
        lex.va[fam] = (float(v), float(a))
        for group in spec["words"]:
            forms = str(group).split()
            canonical = forms[0]
            if canonical in lex.family_of:
                raise ValueError(f"lexicon.yaml: lemma {canonical!r} listed twice")
            lex.family_of[canonical] = fam
            for form in forms:
                prev = lex.surface.get(form)
                if prev is not None and prev != canonical:
                    raise ValueError(
                        f"lexicon.yaml: form {form!r} belongs to both {prev!r} and {canonical!r}"
                    )
                lex.surface[form] = canonical
                if "-" in form:
                    lex.surface.setdefault(form.replace("-", " "), canonical)
    for fam, spec in raw["families"].items():
        resolved = []
        for word in spec["anchors"]:
            canon = lex.surface.get(word)
            if canon is None:
                raise ValueError(f"lexicon.yaml: anchor {word!r} of family {fam!r} is unknown")
            if canon not in resolved:
                resolved.append(canon)
        lex.anchors[fam] = tuple(resolved)
    for phrase, target in raw.get("phrases", {}).items():
        canon = lex.surface.get(target)
        if canon is None:
            raise ValueError(f"lexicon.yaml: phrase {phrase!r} -> unknown word {target!r}")
        lex.phrases[clean_text(phrase)] = canon
    negs = [clean_text(n) for n in raw.get("negators", [])]
    lex.negators = frozenset(n for n in negs if " " not in n)
    lex.negator_phrases = tuple(n for n in negs if " " in n)
    return lex
