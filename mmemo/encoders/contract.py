"""The cue contract: one payload that rewards, judges, synthesis and prompts read.

Schema ``mmemo.cues/1`` (a JSON object; :meth:`CuePayload.to_dict` writes it)::

    {"schema": "mmemo.cues/1",
     "face":  {"measured": ["AU1", ...],          # AUs the encoder measured (absent = 0)
               "present": {"AU12": 3.1, ...},     # present AUs -> intensity 0-5 (null: unknown)
               "source": "geometry"} | null,      # null: no face part (audio, or not asked)
     "voice": {"pitch_level": "high"|"normal"|"low"|null,
               "energy_level": ..., "speed_level": ...,
               "intonation": "rising"|"falling"|"rising-falling"|"falling-rising"|"flat"
                             |"expressive"|null,
               "pitch_reference": "speaker"|"gender:male"|... | null} | null}

A face part with ``measured == []`` means a face was looked for and not found. An AU
present in at least 10 % of the measured frames is present (the rule ``AUCues.describe``
uses to name an AU), with its mean intensity while present.

:func:`parse_cues` is the one reader. It accepts, and maps onto the schema:

- a :class:`CuePayload`, or cue objects (``MediaCues``, ``AUCues``, ``ProsodyCues``);
- the schema dict above, or its JSON string;
- the JSON that ``mmemo cues --json`` / ``--out`` writes (``MediaCues.to_dict``: ``face``
  with ``aus`` + ``summary``, ``prosody`` with the level words), or one part of it;
- the flat manifest layout of earlier versions: ``{"aus": {AU: intensity} | [AU, ...],
  "aus_measured": [...], "pitch_level": ..., "energy_level": ..., "speed_level": ...,
  "intonation": ...}`` (a list names the present AUs; the measured set is then the
  encoder's AUs plus those named);
- the text that ``describe()`` writes (``"Face: AU6+AU12 strong in 70% of frames ...; AU4
  absent. Voice: pitch high and rising (+4 st), loud, fast, 2 pauses."``), with or without
  the ``Face:``/``Voice:`` prefixes. Text naming AUs is taken to come from the geometric
  encoder, so every AU of :data:`AU_NAMES` counts as measured.

Anything else raises :class:`CueError` with the reason; consumers report it (once per run)
rather than scoring a silent constant. Pure Python: no numpy, cheap to import.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

SCHEMA = "mmemo.cues/1"

#: Action units the geometric encoder measures, in column order, with their FACS names.
AU_NAMES: dict[str, str] = {
    "AU1": "inner brow raiser",
    "AU2": "outer brow raiser",
    "AU4": "brow lowerer",
    "AU5": "upper lid raiser",
    "AU6": "cheek raiser",
    "AU7": "lid tightener",
    "AU9": "nose wrinkler",
    "AU10": "upper lip raiser",
    "AU12": "lip corner puller",
    "AU14": "dimpler",
    "AU15": "lip corner depressor",
    "AU17": "chin raiser",
    "AU20": "lip stretcher",
    "AU23": "lip tightener",
    "AU25": "lips part",
    "AU26": "jaw drop",
    "AU45": "blink",
}
LEVEL_DIMS = ("pitch_level", "energy_level", "speed_level")
VOICE_DIMS = (*LEVEL_DIMS, "intonation")
LEVELS = ("high", "normal", "low")
INTONATIONS = ("rising", "falling", "rising-falling", "falling-rising", "flat", "expressive")
MIN_AU_SHARE = 0.1  # an AU present in fewer of the measured frames is not present

# level words that earlier manifests and hand-written cue dicts use
_LEVEL_WORDS = {
    "high": "high", "fast": "high", "loud": "high", "elevated": "high", "raised": "high",
    "rapid": "high", "quick": "high", "low": "low", "slow": "low", "quiet": "low", "soft": "low",
    "deep": "low", "normal": "normal", "medium": "normal", "moderate": "normal",
    "mid": "normal", "average": "normal", "neutral": "normal",
}  # fmt: skip
_INTONATION_WORDS = {
    **{w: w for w in INTONATIONS},
    "rise": "rising", "fall": "falling", "monotone": "flat", "level": "flat",
    "rising then falling": "rising-falling", "falling then rising": "falling-rising",
}  # fmt: skip
_AU_TOKEN = re.compile(r"\bau ?0*(\d{1,3})\b", re.IGNORECASE)


class CueError(ValueError):
    """A cue payload that cannot be read; the message says why."""


def au_id(key: Any) -> str | None:
    """``"AU04"``, ``"au 4"``, ``4`` -> ``"AU4"``; ``None`` for anything else."""
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return f"AU{key}"
    m = _AU_TOKEN.fullmatch(str(key).strip())
    return f"AU{int(m.group(1))}" if m else None


def _au_order(au: str) -> int:
    return int(au[2:])


@dataclass
class CuePayload:
    """Cues of one sample in the contract's form (see the module docstring).

    ``measured`` is ``None`` when there is no face part; ``voice`` is ``None`` when there is
    no voice part, else the level words (a ``None`` level: not measured).
    """

    measured: frozenset[str] | None = None
    present: dict[str, float | None] = field(default_factory=dict)
    voice: dict[str, str | None] | None = None
    face_source: str | None = None
    pitch_reference: str | None = None

    @property
    def has_face(self) -> bool:
        return self.measured is not None

    @property
    def has_voice(self) -> bool:
        return self.voice is not None

    def au_state(self, au: str) -> bool | None:
        """True present, False measured and absent, None not measured."""
        if au in self.present:
            return True
        if self.measured is not None and au in self.measured:
            return False
        return None

    def level(self, dim: str) -> str | None:
        return None if self.voice is None else self.voice.get(dim)

    def to_dict(self) -> dict[str, Any]:
        """The ``mmemo.cues/1`` JSON object."""
        face = None
        if self.measured is not None:
            face = {
                "measured": sorted(self.measured, key=_au_order),
                "present": {au: self.present[au] for au in sorted(self.present, key=_au_order)},
                "source": self.face_source,
            }
        voice = None
        if self.voice is not None:
            voice = {dim: self.voice.get(dim) for dim in VOICE_DIMS}
            voice["pitch_reference"] = self.pitch_reference
        return {"schema": SCHEMA, "face": face, "voice": voice}

    def describe(self) -> str:
        """Short text in the words of ``describe()``, readable back by :func:`parse_cues`."""
        parts = []
        if self.measured is not None:
            if not self.measured:
                parts.append("Face: no facial action units measured.")
            else:
                on = sorted(self.present, key=_au_order)
                off = [au for au in sorted(self.measured, key=_au_order) if au not in on]
                text = "+".join(on) + " present" if on else "no action unit present"
                if off:
                    text += "; " + ", ".join(off) + " absent"
                parts.append(f"Face: {text}.")
        if self.voice is not None:
            v = self.voice
            words = []
            if v.get("pitch_level"):
                words.append(f"pitch {v['pitch_level']}")
            if v.get("intonation"):
                words.append(f"intonation {v['intonation']}")
            loud = {"high": "loud", "low": "soft", "normal": "normal loudness"}
            speed = {"high": "fast", "low": "slow", "normal": "normal rate"}
            if v.get("energy_level"):
                words.append(loud[v["energy_level"]])
            if v.get("speed_level"):
                words.append(speed[v["speed_level"]])
            parts.append("Voice: " + (", ".join(words) or "no level measured") + ".")
        return " ".join(parts) or "No cues measured."


# ------------------------------------------------------------------------- dict forms


def _level(raw: Any, dim: str) -> str | None:
    if not isinstance(raw, str):
        return None
    word = " ".join(raw.strip().lower().split())
    if dim == "intonation":
        return _INTONATION_WORDS.get(word)
    return _LEVEL_WORDS.get(word)


def _voice_from(d: dict) -> dict[str, str | None]:
    return {dim: _level(d.get(dim), dim) for dim in VOICE_DIMS}


def _face_from_encoder(face: dict) -> tuple[frozenset[str], dict[str, float | None], str | None]:
    """(measured, present, source) from ``AUCues.to_dict()``."""
    if face.get("empty"):
        return frozenset(), {}, face.get("source")
    summary = face.get("summary")
    if not isinstance(summary, dict) or not isinstance(summary.get("frac_present"), dict):
        raise CueError("face cues without summary.frac_present (not AUCues.to_dict output)")
    frac = summary["frac_present"]
    mean_on: dict[str, float | None] = {}
    intensity, presence = face.get("intensity"), face.get("presence")
    names = face.get("aus") or list(frac)
    if isinstance(intensity, list) and isinstance(presence, list):
        for j, name in enumerate(names):
            vals = [
                row[j]
                for row, p in zip(intensity, presence)
                if isinstance(row, list) and j < len(row) and row[j] is not None and p and p[j]
            ]
            mean_on[name] = round(sum(vals) / len(vals), 3) if vals else None
    measured, present = set(), {}
    for name, share in frac.items():
        au = au_id(name)
        if au is None or share is None:
            continue
        measured.add(au)
        if share >= MIN_AU_SHARE:
            present[au] = mean_on.get(name)
    return frozenset(measured), present, face.get("source")


def _from_flat(d: dict, threshold: float) -> CuePayload:
    out = CuePayload()
    aus = d.get("aus")
    if isinstance(aus, dict):
        measured, present = set(), {}
        for key, value in aus.items():
            au = au_id(key)
            if au is None or isinstance(value, bool) or not isinstance(value, int | float):
                raise CueError(f"aus entry {key!r}: {value!r} is not an AU intensity")
            measured.add(au)
            if value >= threshold:
                present[au] = float(value)
        out.measured, out.present = frozenset(measured), present
    elif isinstance(aus, list | tuple):
        present = {}
        for key in aus:
            au = au_id(key)
            if au is None:
                raise CueError(f"aus entry {key!r} is not an action unit")
            present[au] = None
        out.measured, out.present = frozenset(AU_NAMES) | frozenset(present), present
    elif aus is not None:
        raise CueError(f"aus must be a dict or a list, got {type(aus).__name__}")
    if isinstance(d.get("aus_measured"), list | tuple):
        extra = {au_id(k) for k in d["aus_measured"]} - {None}
        out.measured = frozenset(extra) | frozenset(out.present)
    if any(dim in d for dim in VOICE_DIMS):
        out.voice = _voice_from(d)
        out.pitch_reference = d.get("level_reference") or d.get("pitch_reference")
    if out.measured is None and out.voice is None:
        raise CueError(f"no cue field in the dict (keys: {sorted(d)[:12]})")
    return out


def _from_dict(d: dict, threshold: float) -> CuePayload:
    if d.get("schema") == SCHEMA:
        out = CuePayload()
        face, voice = d.get("face"), d.get("voice")
        if isinstance(face, dict):
            out.measured = frozenset(a for a in map(au_id, face.get("measured") or []) if a)
            out.present = {
                au: (None if v is None else float(v))
                for k, v in (face.get("present") or {}).items()
                if (au := au_id(k))
            }
            out.measured |= frozenset(out.present)
            out.face_source = face.get("source")
        if isinstance(voice, dict):
            out.voice = _voice_from(voice)
            out.pitch_reference = voice.get("pitch_reference")
        return out
    if isinstance(d.get("schema"), str):
        raise CueError(f"unknown cue schema {d['schema']!r} (this mmemo reads {SCHEMA})")
    if ("face" in d or "prosody" in d) and "aus" not in d:  # MediaCues.to_dict
        out = CuePayload()
        face, prosody = d.get("face"), d.get("prosody")
        if isinstance(face, dict):
            out.measured, out.present, out.face_source = _face_from_encoder(face)
        if isinstance(prosody, dict):
            out.voice = None if prosody.get("empty") else _voice_from(prosody)
            out.pitch_reference = prosody.get("level_reference")
            if out.voice is None:
                out.voice = {dim: None for dim in VOICE_DIMS}
        if out.measured is None and out.voice is None:
            raise CueError("mmemo cues JSON with neither a face nor a prosody part")
        return out
    if "summary" in d and isinstance(d.get("aus"), list):  # AUCues.to_dict alone
        out = CuePayload()
        out.measured, out.present, out.face_source = _face_from_encoder(d)
        return out
    return _from_flat(d, threshold)


# ------------------------------------------------------------------------- text form

_GROUP = re.compile(
    r"((?:au\d{1,3}\+)*au\d{1,3}) (strong|moderate|slight|present)\b", re.IGNORECASE
)
_ABSENT = re.compile(r"((?:au\d{1,3}, )*au\d{1,3}) absent\b", re.IGNORECASE)
_PITCH = re.compile(r"\bpitch (high|normal|low)\b")
_SHAPE = re.compile(
    r"\b(rising then falling|falling then rising|rising|falling|flat|expressive)\b"
    r"(?: \((?:[+-]?\d+ st|range \d+ st)\))?"
)
_ENERGY = re.compile(r"\b(loud|soft|quiet|normal loudness)\b")
_SPEED = re.compile(r"\b(fast|slow|normal rate)\b")
_FACE_NONE = "no facial action units measured"
_VOICE_NONE = "no speech prosody"


def _split_text(text: str) -> tuple[str | None, str | None]:
    low = text.lower()
    f, v = low.find("face:"), low.find("voice:")
    if f < 0 and v < 0:
        return low, low
    face = voice = None
    if f >= 0:
        face = low[f + 5 : v if v > f else len(low)]
    if v >= 0:
        voice = low[v + 6 : f if f > v else len(low)]
    return face, voice


def _from_text(text: str) -> CuePayload:
    if len(text) > 100_000:
        raise CueError(f"cue text of {len(text)} characters (more than 100000)")
    face_txt, voice_txt = _split_text(text)
    out = CuePayload()
    if face_txt is not None:
        present = {
            au: None for m in _GROUP.finditer(face_txt) for au in map(au_id, m.group(1).split("+"))
        }
        absent = {au_id(a) for m in _ABSENT.finditer(face_txt) for a in m.group(1).split(", ")}
        if _FACE_NONE in face_txt:
            out.measured, out.face_source = frozenset(), "text"
        elif present or absent or "no action unit present" in face_txt:
            out.present = {au: v for au, v in present.items() if au}
            out.measured = frozenset(AU_NAMES) | frozenset(out.present) | (absent - {None})
            out.face_source = "text"
    if voice_txt is not None:
        if _VOICE_NONE in voice_txt:
            out.voice = {dim: None for dim in VOICE_DIMS}
        else:
            voice: dict[str, str | None] = {dim: None for dim in VOICE_DIMS}
            for dim, pattern in (
                ("pitch_level", _PITCH), ("energy_level", _ENERGY), ("speed_level", _SPEED)
            ):  # fmt: skip
                m = pattern.search(voice_txt)
                if m:
                    word = m.group(1).replace("normal loudness", "normal")
                    voice[dim] = _LEVEL_WORDS.get(word.replace("normal rate", "normal"))
            shape_txt = voice_txt
            pm = _PITCH.search(voice_txt)
            if pm:  # the intonation follows "pitch X and ..." in describe()
                shape_txt = voice_txt[pm.end() :]
            sm = _SHAPE.search(shape_txt)
            if sm:
                voice["intonation"] = _INTONATION_WORDS[sm.group(1)]
            if any(voice.values()):
                out.voice = voice
    if out.measured is None and out.voice is None:
        raise CueError(f"no cue recognised in the text {text[:80]!r}")
    return out


def parse_cues(value: Any, au_threshold: float = 1.0) -> CuePayload:
    """Read any accepted cue form (module docstring) into a :class:`CuePayload`.

    ``au_threshold``: intensity (0-5) from which an AU of a flat ``{AU: intensity}`` dict is
    present. Raises :class:`CueError` (a ``ValueError``) naming the reason.

    >>> p = parse_cues("Face: AU6+AU12 strong in 80% of frames; AU4 absent. Voice: pitch high "
    ...                "and rising (+4 st), soft, fast, no pauses.")
    >>> sorted(p.present), p.au_state("AU4"), p.voice["intonation"], p.voice["energy_level"]
    (['AU12', 'AU6'], False, 'rising', 'low')
    """
    if isinstance(value, CuePayload):
        return value
    if value is None:
        raise CueError("no cues (the value is None)")
    if hasattr(value, "to_dict") and not isinstance(value, dict):
        value = value.to_dict()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            raise CueError("empty cue text")
        if stripped.startswith("{"):
            if len(stripped) > 5_000_000:
                raise CueError("cue JSON larger than 5 MB")
            try:
                value = json.loads(stripped)
            except ValueError as exc:
                raise CueError(f"cue JSON does not parse: {exc}") from None
        else:
            return _from_text(stripped)
    if not isinstance(value, dict):
        raise CueError(f"cues must be a dict, JSON or text, got {type(value).__name__}")
    return _from_dict(value, au_threshold)


def cue_payload(value: Any, au_threshold: float = 1.0) -> dict[str, Any]:
    """The ``mmemo.cues/1`` dict of any accepted form (``parse_cues(value).to_dict()``)."""
    return parse_cues(value, au_threshold).to_dict()
