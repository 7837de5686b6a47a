"""SFT reasoning targets synthesised from measured cues and labels (Facial-R1 stage-3 style).

For a row without ``reasoning``, read its ``cues`` through the cue contract
(:func:`mmemo.encoders.contract.parse_cues`: the JSON ``mmemo cues`` writes, the
``describe()`` text, the ``mmemo.cues/1`` schema, or the flat ``{"aus": ..., "pitch_level":
...}`` layout), write a short rationale that cites only measured cues, and **keep it only
when the cues are consistent with the label**: at least one cue supports the label and none
contradicts it, according to the small evidence table below (prototypical AU combinations,
as in EMFACS, and the usual prosodic correlates: high arousal ↔ high pitch/energy/rate).
Rows that fail the check keep no reasoning (they are reported as ``rejected``), so the SFT
stage never learns a rationale that argues for a different emotion than the label. A row
whose cues cannot be read is reported by id with the reason (once per row, on stderr).

The rationale uses the words the cue-grounding reward checks ("AU12 (lip corner puller)",
"high pitch", "soft voice", "fast speech", "rising intonation"), so every claim in it is
supported by the row's cues. The table is deliberately coarse and covers the basic-emotion
labels only (labels map onto it through :func:`mmemo.taxonomy.normalise_label`, so "anger",
"sadness", "joy" work); other labels are never synthesised. This is a shortcut, not a model:
a judge or an LLM rewriter can replace :func:`synthesise_reasoning` later.
"""

from __future__ import annotations

from typing import Any

from mmemo.encoders.contract import AU_NAMES as MEASURED_AU_NAMES
from mmemo.encoders.contract import CueError, CuePayload, parse_cues

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
    "contempt": {"aus": {"AU14"}, "anti": set(), "levels": set(), "anti_levels": set()},
}
# cue field:level -> the words the rationale uses (all read back by the grounding parser)
_LEVEL_PHRASES = {
    "pitch_level:high": "high pitch", "pitch_level:low": "low pitch",
    "pitch_level:normal": "normal pitch", "energy_level:high": "loud voice",
    "energy_level:low": "soft voice", "energy_level:normal": "normal loudness",
    "speed_level:high": "fast speech", "speed_level:low": "slow speech",
    "speed_level:normal": "normal rate", "intonation:rising": "rising intonation",
    "intonation:falling": "falling intonation", "intonation:flat": "flat intonation",
    "intonation:rising-falling": "pitch rising then falling",
    "intonation:falling-rising": "pitch falling then rising",
    "intonation:expressive": "expressive intonation",
}  # fmt: skip


def _payload(cues: Any) -> CuePayload:
    return parse_cues(cues)


def rule_label(label: str) -> str | None:
    """The evidence-table label for ``label`` ("anger" -> "angry"), ``None`` if it has none."""
    word = str(label).strip().lower()
    if word in EVIDENCE:
        return word
    from mmemo.taxonomy import normalise_label

    return normalise_label(word, label_space=tuple(EVIDENCE))


def present_aus(cues: Any, threshold: float = 1.0) -> list[str]:
    """AUs present in the cues (any contract form), sorted by number."""
    return sorted(parse_cues(cues, threshold).present, key=lambda a: int(a[2:]))


def _levels(cues: CuePayload) -> set[str]:
    if cues.voice is None:
        return set()
    return {f"{k}:{v}" for k, v in cues.voice.items() if v}


def check_consistency(label: str, cues: Any) -> tuple[bool, list[str], list[str]]:
    """(consistent, supporting cues, contradicting cues) of ``cues`` for ``label``.

    Raises :class:`~mmemo.encoders.contract.CueError` when the cues cannot be read.
    """
    canon = rule_label(label)
    rule = EVIDENCE.get(canon or "")
    if rule is None:
        return False, [], [f"no evidence rule for label {label!r}"]
    payload = _payload(cues)
    aus, levels = set(payload.present), _levels(payload)
    support = sorted(aus & rule["aus"]) + sorted(levels & rule["levels"])
    against = sorted(aus & rule["anti"]) + sorted(levels & rule["anti_levels"])
    return bool(support) and not against, support, against


def synthesise_reasoning(label: str, cues: Any) -> str | None:
    """A rationale citing the measured cues for ``label``, or None when they are not
    consistent with it (see module docstring). Raises ``CueError`` on unreadable cues."""
    ok, support, _ = check_consistency(label, cues)
    if not ok:
        return None
    payload = _payload(cues)
    sentences = []
    aus = sorted(payload.present, key=lambda a: int(a[2:]))
    if aus:
        named = ", ".join(f"{a} ({AU_NAMES.get(a, 'action unit')})" for a in aus)
        sentences.append(f"The face shows {named}.")
    voice = [_LEVEL_PHRASES[lv] for lv in sorted(_levels(payload)) if lv in _LEVEL_PHRASES]
    if voice:
        sentences.append("In the voice: " + ", ".join(voice) + ".")
    cited = ", ".join(_LEVEL_PHRASES.get(s, s) for s in support)
    sentences.append(f"These cues ({cited}) point to {label}.")
    return " ".join(sentences)


def fill_reasoning(rows: list[dict], overwrite: bool = False, verbose: bool = True) -> list[dict]:
    """Copies of ``rows`` where rows lacking ``reasoning`` get a synthesised one when their
    cues are consistent with their ``emotion``; others are left without (and counted).
    Rows whose cues cannot be read are named on stderr with the reason."""
    import sys

    out, made, rejected, unreadable = [], 0, 0, 0
    for n, row in enumerate(rows):
        row = dict(row)
        if row.get("reasoning") and not overwrite:
            out.append(row)
            continue
        label, text = row.get("emotion"), None
        if label and row.get("cues") is not None:
            try:
                text = synthesise_reasoning(str(label), row["cues"])
            except CueError as exc:
                unreadable += 1
                print(f"synthesis: row {row.get('id', n)}: unreadable cues: {exc}", file=sys.stderr)
        if text:
            row["reasoning"] = text
            row["reasoning_source"] = "synthesis"
            made += 1
        else:
            rejected += 1
        out.append(row)
    if verbose:
        print(
            f"synthesis: {made} rationales written, {rejected} rows left without"
            + (f" ({unreadable} with unreadable cues)" if unreadable else ""),
            file=sys.stderr,
        )
    return out
