"""Cues -> compact factual text for prompts, and rationales grounded in measured cues.

:func:`describe_cues` joins the face part (``AUCues.describe()``) and the voice part
(``ProsodyCues.describe()``) into one line a model can read. :func:`grounded_rationale`
writes a short rationale for a label that cites only cues that were actually measured: the
cues typical of the label (action units after EMFACS, Friesen & Ekman 1983; prosody after
the review of Juslin & Laukka 2003, Psychol. Bull. 129:770) that are present, and otherwise
says plainly that the measured cues give no direct support.
"""

from __future__ import annotations

from typing import Any

from mmemo.encoders.base import AU_NAMES, AUCues, ProsodyCues

# Canonical label -> words that mean it (lower case).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "happy": ("happy", "happiness", "joy", "joyful", "glad", "amused", "amusement"),
    "sad": ("sad", "sadness", "sorrow", "unhappy"),
    "angry": ("angry", "anger", "mad", "furious", "annoyed", "irritated"),
    "fearful": ("fear", "fearful", "afraid", "scared", "anxious"),
    "surprised": ("surprise", "surprised", "astonished", "amazed"),
    "disgusted": ("disgust", "disgusted", "revulsion"),
    "contempt": ("contempt", "contemptuous", "scorn"),
    "neutral": ("neutral", "none", "no emotion"),
    "calm": ("calm", "relaxed", "serene"),
}
# Prototypical action units per emotion (EMFACS-style prototypes).
PROTOTYPE_AUS: dict[str, tuple[str, ...]] = {
    "happy": ("AU6", "AU12"),
    "sad": ("AU1", "AU4", "AU15", "AU17"),
    "angry": ("AU4", "AU5", "AU7", "AU23"),
    "fearful": ("AU1", "AU2", "AU4", "AU5", "AU7", "AU20", "AU26"),
    "surprised": ("AU1", "AU2", "AU5", "AU26"),
    "disgusted": ("AU9", "AU10", "AU15"),
    "contempt": ("AU14",),
    "neutral": (),
    "calm": (),
}
# Typical prosody per emotion: (cue field, value) pairs (Juslin & Laukka 2003, table 7).
PROTOTYPE_PROSODY: dict[str, tuple[tuple[str, str], ...]] = {
    "happy": (("pitch_level", "high"), ("energy_level", "high"), ("speed_level", "high")),
    "angry": (("pitch_level", "high"), ("energy_level", "high"), ("speed_level", "high")),
    "fearful": (("pitch_level", "high"), ("speed_level", "high")),
    "sad": (("pitch_level", "low"), ("energy_level", "low"), ("speed_level", "low")),
    "surprised": (("pitch_level", "high"), ("intonation", "rising")),
    "disgusted": (("pitch_level", "low"), ("speed_level", "low")),
    "calm": (("energy_level", "low"), ("speed_level", "low"), ("intonation", "flat")),
    "neutral": (("energy_level", "normal"), ("pitch_level", "normal"), ("intonation", "flat")),
    "contempt": (),
}
_PROSODY_WORDS = {
    ("pitch_level", "high"): "high pitch",
    ("pitch_level", "low"): "low pitch",
    ("pitch_level", "normal"): "normal pitch",
    ("energy_level", "high"): "loud voice",
    ("energy_level", "low"): "soft voice",
    ("energy_level", "normal"): "normal loudness",
    ("speed_level", "high"): "fast speech",
    ("speed_level", "low"): "slow speech",
    ("intonation", "rising"): "rising intonation",
    ("intonation", "flat"): "flat intonation",
}
_MIN_AU_SHARE = 0.1  # an AU present in fewer of the measured frames is not cited


def canonical_label(label: str) -> str | None:
    """The canonical emotion for a label word (e.g. "Anger" -> "angry"); None if unknown."""
    word = label.strip().lower()
    for canon, words in _SYNONYMS.items():
        if word in words:
            return canon
    return None


def _parts(cues: Any) -> tuple[AUCues | None, ProsodyCues | None]:
    """(face, prosody) from a MediaCues-like object or a single cue object."""
    if isinstance(cues, AUCues):
        return cues, None
    if isinstance(cues, ProsodyCues):
        return None, cues
    face, prosody = getattr(cues, "face", None), getattr(cues, "prosody", None)
    if face is None and prosody is None and not hasattr(cues, "face"):
        raise TypeError(f"expected MediaCues, AUCues or ProsodyCues, got {type(cues).__name__}")
    return face, prosody


def describe_cues(cues: Any) -> str:
    """One compact line: ``"Face: AU6+AU12 strong in 70% of frames ... Voice: pitch high ..."``.

    Accepts a :class:`~mmemo.encoders.pipeline.MediaCues`, an ``AUCues`` or a ``ProsodyCues``;
    a part that was not measured (``None``) is left out.
    """
    face, prosody = _parts(cues)
    parts = []
    if face is not None:
        parts.append(f"Face: {face.describe()}.")
    if prosody is not None:
        parts.append(f"Voice: {prosody.describe()}.")
    return " ".join(parts) if parts else "No cues measured."


def _present_aus(face: AUCues) -> dict[str, float]:
    """AU -> share (0-1) of measured frames in which it is present, for AUs cited at all."""
    if face.empty:
        return {}
    return {au: f for au, f in face.frac_present.items() if f is not None and f >= _MIN_AU_SHARE}


def supporting_cues(cues: Any, label: str) -> list[str]:
    """The measured cues of ``label``'s prototype (:data:`PROTOTYPE_AUS`,
    :data:`PROTOTYPE_PROSODY`), as short phrases; empty when none was measured."""
    face, prosody = _parts(cues)
    canon = canonical_label(label)
    support: list[str] = []
    if face is not None and not face.empty:
        present = _present_aus(face)
        for au in PROTOTYPE_AUS.get(canon or "", ()):
            if au in present:
                name = AU_NAMES.get(au, au)
                support.append(f"{au} ({name}) in {100 * present[au]:.0f}% of frames")
        if canon in ("neutral", "calm") and not present:
            support.append("no facial action unit present")
    if prosody is not None and not prosody.empty:
        for key, value in PROTOTYPE_PROSODY.get(canon or "", ()):
            if getattr(prosody, key) == value:
                text = _PROSODY_WORDS.get((key, value), f"{key} {value}")
                if key == "intonation" and value == "rising":
                    text += f" ({prosody.f0_change_st:+.0f} st)"
                support.append(text)
    return support


def grounded_rationale(cues: Any, label: str) -> str:
    """A short rationale for ``label`` citing only measured cues.

    The supporting cues are those of the label's prototype that were measured
    (:func:`supporting_cues`); when none is, the rationale says so and lists what was
    measured instead, so it never claims a cue that is not in ``cues``.
    """
    canon = canonical_label(label)
    shown = label.strip()
    support = supporting_cues(cues, label)
    if support:
        return f"The measured cues point to {shown}: " + "; ".join(support) + "."
    measured = describe_cues(cues)
    why = "" if canon else f" ('{shown}' has no cue prototype here)"
    return f"No measured cue directly supports {shown}{why}. Measured: {measured}"
