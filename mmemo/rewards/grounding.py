"""Cue-grounding reward: check what the reasoning claims against measured cues (mmemo's own).

A small deterministic claim parser reads the think span (lowercased, first
``max_chars`` characters) and extracts

- **AU claims**: ``AU12``/``AU 06`` tokens and plain-language names ("lip corner puller",
  "smiling", "brows raised", "furrowed brow", "nose wrinkle", ...). A name may stand for
  several AUs ("brows raised" = AU1 or AU2); the claim holds if any of them is present.
- **prosody claims**: pitch level (high/normal/low), energy (loud/quiet), speech rate
  (fast/slow) and intonation (rising/falling/flat).

A claim preceded in its clause by a negator ("no AU12", "not loud", "without a smile") is a
negative claim. Claims are de-duplicated, then checked against the sample's ``cues`` dict::

    {"aus": {"AU12": 3.1, "AU6": 2.0} | ["AU6", "AU12"],   # 0–5 intensity, or present AUs
     "aus_measured": ["AU1", ...],                            # optional: AUs the encoder measures
     "pitch_level": "high"|"normal"|"low", "energy_level": ..., "speed_level": ...,
     "intonation": "rising"|"falling"|"flat"}

An AU is present when its intensity is ≥ ``au_threshold`` (default 1.0 on the 0–5 scale; a
0/1 presence dict works too). With the dict form, AUs absent from the dict are unmeasured;
with the list form, unlisted AUs count as absent (limited to ``aus_measured`` when given).
Level words are normalised (fast/loud/elevated → high, slow/quiet/soft → low,
moderate/medium/average → normal).

Score = ``(n_supported − n_contradicted) / (n_supported + n_contradicted)`` in [−1, 1]; 0 when
nothing checkable is claimed or there are no cues. Only the first 20 000 characters and 256
mentions of each kind are read. Components: ``n_claims``, ``n_supported``,
``n_contradicted``, ``n_unverifiable``. All patterns are alternations of literals with single
quantifiers (no nesting), so matching is linear in the text length.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mmemo.rewards.core import Reward, Score, column
from mmemo.rewards.parsing import think_span

_BE = r"(?:are |were |is |was |appear |appears |look |looks |slightly |clearly )?"
_DEG = r"(?:very |quite |relatively |rather |noticeably |a bit |slightly )?"

# (pattern, claim) with claim = ("au", frozenset of AU ids) or (dimension, level)
_AU_PHRASES: list[tuple[str, tuple[str, Any]]] = [
    (r"inner brows? " + _BE + r"(?:rais|lift)\w*", ("au", {"AU1"})),
    (r"(?:rais|lift)\w* inner brows?", ("au", {"AU1"})),
    (r"outer brows? " + _BE + r"(?:rais|lift)\w*", ("au", {"AU2"})),
    (r"(?:eye)?brows? " + _BE + r"(?:rais|lift|arch)\w*", ("au", {"AU1", "AU2"})),
    (r"(?:rais|lift|arch)\w* (?:the |her |his |their )?(?:eye)?brows?", ("au", {"AU1", "AU2"})),
    (
        r"(?:eye)?brows? " + _BE + r"(?:lower|furrow|knit|drawn together|pulled down)\w*",
        ("au", {"AU4"}),
    ),
    (r"(?:lower|furrow|knit)\w* (?:the |her |his |their )?(?:eye)?brows?", ("au", {"AU4"})),
    (r"brow lower\w*|frown\w*|scowl\w*", ("au", {"AU4"})),
    (
        r"upper (?:eye)?lids? "
        + _BE
        + r"rais\w*|widen\w* eyes?|eyes? "
        + _BE
        + r"widen\w*|wide[- ]eyed|eyes wide",
        ("au", {"AU5"}),
    ),
    (r"cheeks? " + _BE + r"rais\w*|rais\w* cheeks?", ("au", {"AU6"})),
    (r"(?:eye)?lids? " + _BE + r"tighten\w*|squint\w*", ("au", {"AU7"})),
    (r"nose " + _BE + r"wrinkl\w*|wrinkl\w* (?:the |her |his |their )?nose", ("au", {"AU9"})),
    (r"upper lip " + _BE + r"rais\w*|rais\w* upper lip", ("au", {"AU10"})),
    (r"lip corners? pull\w*|smil\w*|grin\w*", ("au", {"AU12"})),
    (r"(?:mouth|lip) corners? " + _BE + r"(?:rais|lift|turn\w* up|upturn)\w*", ("au", {"AU12"})),
    (r"dimpl\w*", ("au", {"AU14"})),
    (r"lip corners? depress\w*", ("au", {"AU15"})),
    (
        r"(?:mouth|lip) corners? "
        + _BE
        + r"(?:lower|drawn down|pulled down|turn\w* down|droop)\w*",
        ("au", {"AU15"}),
    ),
    (r"chin " + _BE + r"rais\w*|chin boss", ("au", {"AU17"})),
    (r"lips? " + _BE + r"stretch\w*", ("au", {"AU20"})),
    (r"lips? " + _BE + r"tighten\w*|tighten\w* lips", ("au", {"AU23"})),
    (r"lips? " + _BE + r"press\w*|press\w* (?:the |her |his |their )?lips", ("au", {"AU24"})),
    (
        r"lips? " + _BE + r"part\w*|parted lips|mouth " + _BE + r"open\w*|open mouth",
        ("au", {"AU25", "AU26"}),
    ),
    (r"jaw " + _BE + r"drop\w*|dropped jaw", ("au", {"AU26"})),
    (r"eyes? " + _BE + r"clos\w*|closed eyes", ("au", {"AU43"})),
    (r"blink\w*", ("au", {"AU45"})),
]
_PROSODY_PHRASES: list[tuple[str, tuple[str, Any]]] = [
    (
        r"high[- ]pitch\w*|(?:raised|elevated|higher|high) (?:vocal )?pitch|pitch "
        + _BE
        + _DEG
        + r"(?:high|elevated|raised)",
        ("pitch_level", "high"),
    ),
    (
        r"low[- ]pitch\w*|(?:lowered|lower|low|deep) (?:vocal )?pitch|deep voice|pitch "
        + _BE
        + _DEG
        + r"(?:low|deep)",
        ("pitch_level", "low"),
    ),
    (
        r"(?:normal|moderate|neutral|average) pitch|pitch "
        + _BE
        + _DEG
        + r"(?:normal|moderate|average)",
        ("pitch_level", "normal"),
    ),
    (
        r"loud\w*|shout\w*|yell\w*|(?:high|raised|elevated) (?:vocal )?(?:energy|volume|intensity)|(?:energy|volume) "
        + _BE
        + _DEG
        + r"(?:high|elevated|raised)",
        ("energy_level", "high"),
    ),
    (
        r"quiet\w*|whisper\w*|soft voice|soft[- ]spoken|(?:speaks|speaking|said|says|talks) softly|(?:low|reduced) (?:vocal )?(?:energy|volume|intensity)|(?:energy|volume) "
        + _BE
        + _DEG
        + r"low",
        ("energy_level", "low"),
    ),
    (
        r"(?:normal|moderate|average) (?:vocal )?(?:energy|volume|loudness)",
        ("energy_level", "normal"),
    ),
    (
        r"(?:fast|rapid|quick|hurried)[- ]?(?:paced )?(?:speech|speaking|rate|tempo|pace|delivery)|(?:speaks|speaking|talks|talking|spoke) "
        + _DEG
        + r"(?:quickly|fast|rapidly)|(?:speech|speaking) rate "
        + _BE
        + _DEG
        + r"(?:high|fast)",
        ("speed_level", "high"),
    ),
    (
        r"(?:slow|sluggish|measured)[- ]?(?:paced )?(?:speech|speaking|rate|tempo|pace|delivery)|(?:speaks|speaking|talks|talking|spoke) "
        + _DEG
        + r"slowly|(?:speech|speaking) rate "
        + _BE
        + _DEG
        + r"(?:low|slow)",
        ("speed_level", "low"),
    ),
    (
        r"(?:normal|moderate|average) (?:speech |speaking )?(?:rate|tempo|pace)",
        ("speed_level", "normal"),
    ),
    (
        r"rising (?:intonation|pitch|tone|inflection|contour)|(?:intonation|tone|inflection) "
        + _BE
        + r"rising|upward inflection|pitch rises",
        ("intonation", "rising"),
    ),
    (
        r"falling (?:intonation|pitch|tone|inflection|contour)|(?:intonation|tone|inflection) "
        + _BE
        + r"falling|downward inflection|pitch falls",
        ("intonation", "falling"),
    ),
    (r"flat (?:intonation|tone|pitch|contour|delivery)|monoton\w*", ("intonation", "flat")),
]
_PHRASES = _AU_PHRASES + _PROSODY_PHRASES
_CLAIM_RE = re.compile(r"\b(?:" + "|".join(f"({p})" for p, _ in _PHRASES) + ")")
_CLAIMS = [(kind, frozenset(v) if kind == "au" else v) for _, (kind, v) in _PHRASES]
_AU_RE = re.compile(r"\bau ?(\d{1,3})\b")
_NEGATORS = frozenset(
    ("no", "not", "without", "absent", "absence", "never", "lacks", "lacking", "nor", "neither")
)
_LEVELS = {
    "high": "high", "fast": "high", "loud": "high", "elevated": "high", "raised": "high",
    "rapid": "high", "quick": "high", "low": "low", "slow": "low", "quiet": "low", "soft": "low",
    "deep": "low", "normal": "normal", "medium": "normal", "moderate": "normal", "mid": "normal",
    "average": "normal", "neutral": "normal", "rising": "rising", "rise": "rising",
    "falling": "falling", "fall": "falling", "flat": "flat", "monotone": "flat", "level": "flat",
}  # fmt: skip


@dataclass(frozen=True)
class Claim:
    """One claim read from reasoning text: ``kind`` is ``"au"`` or a cue dimension."""

    kind: str
    value: Any  # frozenset of AU ids for "au", a level word otherwise
    negated: bool = False


def _negated(text: str, start: int) -> bool:
    window = text[max(0, start - 40) : start]
    cut = max(window.rfind(ch) for ch in ".,;:!?\n")
    words = window[cut + 1 :].replace("n't", " not").split()
    return any(w in _NEGATORS for w in words[-3:])


def parse_claims(text: str, max_chars: int = 20_000, max_mentions: int = 256) -> list[Claim]:
    """Distinct AU and prosody claims in ``text``.

    Only the first ``max_chars`` characters and the first ``max_mentions`` AU-token and
    phrase mentions are read, which bounds the cost of degenerate, repetitive reasoning.

    >>> [(c.kind, sorted(c.value) if c.kind == "au" else c.value, c.negated)
    ...  for c in parse_claims("Lips pressed, no AU12; she speaks loudly.")]
    [('au', ['AU12'], True), ('au', ['AU24'], False), ('energy_level', 'high', False)]
    """
    low = text[:max_chars].lower()
    claims: dict[Claim, None] = {}
    for n, m in enumerate(_AU_RE.finditer(low)):
        if n >= max_mentions:
            break
        claim = Claim("au", frozenset({f"AU{int(m.group(1))}"}), _negated(low, m.start()))
        claims.setdefault(claim)
    for n, m in enumerate(_CLAIM_RE.finditer(low)):
        if n >= max_mentions:
            break
        kind, value = _CLAIMS[m.lastindex - 1]
        claims.setdefault(Claim(kind, value, _negated(low, m.start())))
    return list(claims)


def _au_key(key: Any) -> str | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return f"AU{key}"
    m = _AU_RE.search(str(key).strip().lower())
    return f"AU{int(m.group(1))}" if m else None


@dataclass
class MeasuredCues:
    """Cues of one sample in a checkable form (see the module docstring for the layout)."""

    present: set[str]
    measured: set[str] | None  # None: every AU counts as measured (list form, no limit)
    levels: dict[str, str]

    @classmethod
    def from_value(cls, value: Any, au_threshold: float = 1.0) -> MeasuredCues | None:
        if value is None:
            return None
        if isinstance(value, str):
            if len(value) > 1_000_000:
                return None
            value = json.loads(value)
        if not isinstance(value, dict):
            return None
        present: set[str] = set()
        measured: set[str] | None = None
        aus = value.get("aus")
        if isinstance(aus, dict):
            measured = set()
            for key, intensity in aus.items():
                au = _au_key(key)
                if au is None or not isinstance(intensity, int | float):
                    continue
                measured.add(au)
                if intensity >= au_threshold:
                    present.add(au)
        elif isinstance(aus, list | tuple | set):
            present = {au for au in (_au_key(k) for k in aus) if au}
        if isinstance(value.get("aus_measured"), list | tuple | set):
            measured = {au for au in (_au_key(k) for k in value["aus_measured"]) if au}
        levels = {}
        for dim in ("pitch_level", "energy_level", "speed_level", "intonation"):
            raw = value.get(dim)
            if isinstance(raw, str) and raw.strip().lower() in _LEVELS:
                levels[dim] = _LEVELS[raw.strip().lower()]
        if aus is None and not levels:
            return None
        return cls(present, measured if aus is not None else set(), levels)

    def check(self, claim: Claim) -> bool | None:
        """True supported, False contradicted, None unverifiable."""
        if claim.kind == "au":
            if claim.value & self.present:
                holds = True
            elif self.measured is None or claim.value <= self.measured:
                holds = False
            else:
                return None
        else:
            level = self.levels.get(claim.kind)
            if level is None:
                return None
            holds = level == claim.value
        return holds != claim.negated


def grounding_counts(claims: Sequence[Claim], cues: MeasuredCues | None) -> dict[str, int]:
    """``n_claims``, ``n_supported``, ``n_contradicted``, ``n_unverifiable`` of ``claims``."""
    sup = con = unk = 0
    for claim in claims:
        verdict = None if cues is None else cues.check(claim)
        if verdict is None:
            unk += 1
        elif verdict:
            sup += 1
        else:
            con += 1
    return {
        "n_claims": len(claims),
        "n_supported": sup,
        "n_contradicted": con,
        "n_unverifiable": unk,
    }


class CueGroundingReward(Reward):
    """Reward supported cue claims and penalise contradicted ones (range [−1, 1]).

    See the module docstring for the parser, the ``cues`` layout and the score.
    ``span="think"`` (default) reads the first think span; ``"all"`` the whole completion.

    >>> r = CueGroundingReward()
    >>> r(["<think>AU12 and a loud voice</think><answer>happy</answer>"],
    ...   cues=[{"aus": {"AU12": 3.0}, "energy_level": "low"}])
    [0.0]
    """

    __name__ = "cue_grounding_reward"
    value_range = (-1.0, 1.0)

    def __init__(
        self,
        column: str = "cues",
        span: str = "think",
        au_threshold: float = 1.0,
        max_chars: int = 20_000,
        style: str | Sequence[str] = "xml",
    ) -> None:
        super().__init__()
        if span not in ("think", "all"):
            raise ValueError(f"span must be 'think' or 'all', got {span!r}")
        self.column, self.span, self.au_threshold = column, span, au_threshold
        self.max_chars, self.style = max_chars, style

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        cues = MeasuredCues.from_value(column(columns, self.column, index), self.au_threshold)
        if self.span == "think":
            text = think_span(text, self.style)
        counts = grounding_counts(parse_claims(text, self.max_chars), cues)
        checked = counts["n_supported"] + counts["n_contradicted"]
        overall = (
            0.0 if checked == 0 else (counts["n_supported"] - counts["n_contradicted"]) / checked
        )
        return {"overall": overall, **counts}


def get_cue_grounding_reward(**params: Any) -> CueGroundingReward:
    """Factory for :class:`CueGroundingReward`."""
    return CueGroundingReward(**params)
