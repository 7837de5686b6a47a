"""Cue dataclasses shared by the encoders.

Every cue object has per-frame/per-window arrays plus a clip summary, ``to_dict()`` for
JSON and ``describe()`` for short text a model can read. When nothing could be measured
(no face, no speech), ``empty`` is True and ``reason`` says why: that is a result, not an
exception. Every number has a unit or a documented scale.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Cues:
    """Common fields of all cue objects."""

    empty: bool = False
    reason: str | None = None

    def to_dict(self) -> dict:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError
