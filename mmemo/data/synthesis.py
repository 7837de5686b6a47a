"""SFT reasoning targets synthesised from measured cues and labels (Facial-R1 stage-3 style).

For a row without ``reasoning`` whose ``cues`` are structured (``aus`` as ``{AU: intensity}``
or a list of present AUs; ``pitch_level``/``energy_level``/``speed_level`` words), write a short
rationale that cites only measured cues, and **keep it only when the cues are consistent with
the label**: at least one cue supports the label and none contradicts it, according to the
small evidence table below (prototypical AU combinations, as in EMFACS, and the usual prosodic
correlates: high arousal ↔ high pitch/energy/rate). Rows that fail the check keep no reasoning
(they are reported as ``rejected``), so the SFT stage never learns a rationale that argues for
a different emotion than the label.

The table is deliberately coarse and covers the basic-emotion labels only; other labels are
never synthesised (no evidence rule = no rationale). This is a shortcut, not a model: a judge
or an LLM rewriter can replace :func:`synthesise_reasoning` later.
"""

from __future__ import annotations

import json
from typing import Any

from mmemo.encoders.base import AU_NAMES as MEASURED_AU_NAMES

# FACS names: the AUs mmemo measures, plus AU24, which annotated corpora also cite.
AU_NAMES = {**MEASURED_AU_NAMES, "AU24": "lip pressor"}

# label -> (supporting AUs, contradicting AUs, supporting prosody levels, contradicting levels)
EVIDENCE: dict[str, dict[str, set[str]]] = {
    "happy": {
        "aus": {"AU6", "AU12"},
        "anti": {"AU15", "AU4"},
        "levels": {"pitch_level:high", "energy_level:high"},
        "anti_levels": {"energy_level:low"},
    },
    "sad": {
        "aus": {"AU1", "AU4", "AU15", "AU17"},
        "anti": {"AU12"},
        "levels": {"pitch_level:low", "energy_level:low", "speed_level:low"},
        "anti_levels": {"energy_level:high", "speed_level:high"},
    },
    "angry": {
        "aus": {"AU4", "AU5", "AU7", "AU23", "AU24"},
        "anti": {"AU12"},
        "levels": {"energy_level:high", "pitch_level:high"},
        "anti_levels": {"energy_level:low"},
    },
    "fearful": {
        "aus": {"AU1", "AU2", "AU4", "AU5", "AU20", "AU26"},
        "anti": {"AU12"},
        "levels": {"pitch_level:high", "speed_level:high"},
        "anti_levels": {"pitch_level:low"},
    },
    "disgusted": {
        "aus": {"AU9", "AU10", "AU15"},
        "anti": {"AU12"},
        "levels": set(),
        "anti_levels": set(),
    },
    "surprised": {
        "aus": {"AU1", "AU2", "AU5", "AU26"},
        "anti": {"AU4"},
        "levels": {"pitch_level:high"},
        "anti_levels": {"pitch_level:low"},
    },
    "neutral": {
        "aus": set(),
        "anti": {"AU12", "AU4", "AU15", "AU9"},
        "levels": {"energy_level:normal", "pitch_level:normal"},
        "anti_levels": {"energy_level:high"},
    },
    "calm": {
        "aus": set(),
        "anti": {"AU4", "AU9", "AU20"},
        "levels": {"energy_level:low", "speed_level:low", "energy_level:normal"},
        "anti_levels": {"energy_level:high"},
    },
}
_SYNONYMS = {
    "happiness": "happy",
    "joy": "happy",
    "sadness": "sad",
    "anger": "angry",
    "fear": "fearful",
    "disgust": "disgusted",
    "surprise": "surprised",
}
_LEVEL_WORDS = {
    "pitch_level": "pitch",
    "energy_level": "vocal energy",
    "speed_level": "speaking rate",
}


def _structured(cues: Any) -> dict | None:
    if isinstance(cues, str):
        try:
            cues = json.loads(cues)
        except ValueError:
            return None
    return cues if isinstance(cues, dict) else None


def present_aus(cues: dict, threshold: float = 1.0) -> list[str]:
    """AUs present in a cue dict (intensity ≥ ``threshold`` on the 0–5 scale, or listed)."""
    aus = cues.get("aus")
    if isinstance(aus, dict):
        found = [k for k, v in aus.items() if isinstance(v, (int, float)) and v >= threshold]
    elif isinstance(aus, (list, tuple)):
        found = list(aus)
    else:
        return []
    norm = {
        f"AU{int(str(a).upper().replace('AU', ''))}"
        for a in found
        if str(a).upper().replace("AU", "").isdigit()
    }
    return sorted(norm, key=lambda a: int(a[2:]))


def check_consistency(label: str, cues: dict) -> tuple[bool, list[str], list[str]]:
    """(consistent, supporting cues, contradicting cues) of ``cues`` for ``label``."""
    rule = EVIDENCE.get(_SYNONYMS.get(label.lower(), label.lower()))
    if rule is None:
        return False, [], [f"no evidence rule for label {label!r}"]
    aus = set(present_aus(cues))
    levels = {f"{k}:{str(cues[k]).lower()}" for k in _LEVEL_WORDS if cues.get(k)}
    support = sorted(aus & rule["aus"]) + sorted(levels & rule["levels"])
    against = sorted(aus & rule["anti"]) + sorted(levels & rule["anti_levels"])
    return bool(support) and not against, support, against


def synthesise_reasoning(label: str, cues: dict) -> str | None:
    """A rationale citing the measured cues for ``label``, or None when they are not
    consistent with it (see module docstring)."""
    ok, support, _ = check_consistency(label, cues)
    if not ok:
        return None
    sentences = []
    aus = present_aus(cues)
    if aus:
        named = ", ".join(f"{a} ({AU_NAMES.get(a, 'action unit')})" for a in aus)
        sentences.append(f"The face shows {named}.")
    levels = [f"{word} is {cues[k]}" for k, word in _LEVEL_WORDS.items() if cues.get(k)]
    if levels:
        sentences.append("In the voice, " + ", ".join(levels) + ".")
    cited = ", ".join(s.replace("_level:", " ").replace(":", " ") for s in support)
    sentences.append(f"These cues ({cited}) point to {label}.")
    return " ".join(sentences)


def fill_reasoning(rows: list[dict], overwrite: bool = False, verbose: bool = True) -> list[dict]:
    """Copies of ``rows`` where rows lacking ``reasoning`` get a synthesised one when their
    cues are consistent with their ``emotion``; others are left without (and counted)."""
    import sys

    out, made, rejected = [], 0, 0
    for row in rows:
        row = dict(row)
        if row.get("reasoning") and not overwrite:
            out.append(row)
            continue
        cues = _structured(row.get("cues"))
        label = row.get("emotion")
        text = synthesise_reasoning(str(label), cues) if cues and label else None
        if text:
            row["reasoning"] = text
            row["reasoning_source"] = "synthesis"
            made += 1
        else:
            rejected += 1
        out.append(row)
    if verbose:
        print(
            f"synthesis: {made} rationales written, {rejected} rows left without", file=sys.stderr
        )
    return out
