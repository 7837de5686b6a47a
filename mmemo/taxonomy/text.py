"""Text helpers for emotion labels: cleaning, list parsing and negation tokens.

Pure string functions, no data files. ``split_labels`` follows the reference list parsing of
docs/metrics.md section 1.1 (MERTools ``string_to_list`` followed by lowercase/strip).
"""

from __future__ import annotations

import re

__all__ = ["clean_text", "split_labels", "extract_answer", "tokens"]

# Quote characters unified to ASCII before any other processing.
_QUOTES = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00b4": "'", "`": "'"}
)
_EDGE = " \t\r\n\"'.,;:!?()[]{}<>*_-\u2026"
_SPACES = re.compile(r"\s+")
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_TOKEN = re.compile(r"[a-z]+(?:[-'][a-z]+)*")


def clean_text(text: str) -> str:
    """Lowercase, unify quotes, strip surrounding punctuation/quotes/brackets, collapse spaces.

    Underscores become spaces ("fed_up" -> "fed up"); inner hyphens and apostrophes are kept.
    """
    text = str(text).translate(_QUOTES).lower().replace("_", " ")
    text = _SPACES.sub(" ", text)
    return text.strip(_EDGE)


def tokens(text: str) -> list[str]:
    """Word tokens of already-cleaned text (letters with inner hyphens/apostrophes)."""
    return _TOKEN.findall(text)


def extract_answer(text: str) -> str:
    """The content of the LAST ``<answer>...</answer>`` span, or the text itself if none."""
    spans = _ANSWER.findall(text)
    return spans[-1] if spans else text


def split_labels(text: str | list | tuple | None, *, answer_tags: bool = True) -> list[str]:
    """Split an answer or a list string into lowercase label words.

    Reference semantics (metrics.md 1.1): drop one leading ``[`` and one trailing ``]``, split on
    single/double quotes and commas, strip each item, drop empty items, lowercase.
    ``"[happy, 'sad']"`` -> ``["happy", "sad"]``; ``"happy, on edge"`` -> ``["happy", "on edge"]``.

    With ``answer_tags`` (default) an ``<answer>...</answer>`` span is taken first (the last one).
    A list/tuple input is treated item by item (each item stripped and lowercased).
    """
    if text is None:
        return []
    if isinstance(text, (list, tuple)):
        out: list[str] = []
        for item in text:
            out.extend(split_labels(str(item), answer_tags=False))
        return out
    text = str(text).translate(_QUOTES)
    if answer_tags:
        text = extract_answer(text)
    text = text.strip()
    if text.startswith("["):
        text = text[1:]
    if text.endswith("]"):
        text = text[:-1]
    items = re.split(r"[\"',]", text)
    return [item.strip().lower() for item in items if item.strip()]
