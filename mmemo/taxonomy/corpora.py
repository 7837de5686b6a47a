"""Label spaces of known emotion corpora (``data/label_spaces.yaml``).

``label_space("ravdess")`` returns the corpus labels as the corpus spells them; every one of
them (except documented non-emotion labels such as IEMOCAP "other") maps through
``normalise_label`` and onto every built-in wheel. MAFW compound labels ("anger_disgust") are
split by ``expand_compound``.
"""

from __future__ import annotations

import functools
import re

__all__ = ["label_space", "label_spaces", "expand_compound"]


@functools.cache
def _spaces() -> dict[str, dict]:
    from mmemo.taxonomy.lexicon import _load_yaml

    return _load_yaml("label_spaces.yaml")


def label_spaces() -> list[str]:
    """Names of the shipped label spaces."""
    return sorted(_spaces())


def label_space(name: str) -> list[str]:
    """Labels of corpus ``name`` (case-insensitive; "ck+"/"ck_plus" accepted for "ckplus")."""
    key = re.sub(r"[^a-z0-9]", "", name.lower().replace("+", "plus"))
    spaces = _spaces()
    if key not in spaces:
        raise KeyError(f"unknown label space {name!r}; known: {', '.join(label_spaces())}")
    return list(spaces[key]["labels"])


def expand_compound(label: str) -> list[str]:
    """Split a compound label ("anger_disgust", "sadness+anxiety") into its parts."""
    return [p for p in re.split(r"[_+&/]", label.strip().lower()) if p.strip()]
