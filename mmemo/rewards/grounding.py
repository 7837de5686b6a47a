"""Cue-grounding reward: check what the reasoning claims against measured cues (mmemo's own).

A small deterministic claim parser reads the think span (lowercased, first
``max_chars`` characters) and extracts

- **AU claims**: ``AU12``/``AU 06`` tokens and plain-language names ("lip corner puller",
  "smiling", "brows raised", "furrowed brow", "nose wrinkle", ...). A name may stand for
  several AUs ("brows raised" = AU1 or AU2); the claim holds if any of them is present.
- **prosody claims**: pitch level (high/normal/low), energy (loud/soft/quiet/normal
  loudness), speech rate (fast/slow/normal rate) and intonation (rising, falling, rising
  then falling, falling then rising, flat, expressive), including every word
  ``ProsodyCues.describe()`` writes ("pitch high and rising (+4 st), soft, fast").

A claim preceded in its clause by a negator ("no AU12", "not loud", "without a smile"), or an
AU list followed by "absent" ("AU4, AU9 absent"), is a denial. Claims are de-duplicated,
then checked against the sample's cues, read through the one cue contract
(:func:`mmemo.encoders.contract.parse_cues`: the ``mmemo cues`` JSON, ``describe()`` text,
the ``mmemo.cues/1`` schema or the flat ``{"aus": ..., "pitch_level": ...}`` layout).

Verdicts: a positive claim is *supported* when the cue is present / the level matches,
*contradicted* when the measured cue says otherwise, *unsupported* when it names something
the encoder did not measure (an AU outside the measured set such as "AU99", a voice claim
on a face-only sample, a face claim on audio); a claim on a measured modality whose level is
unknown is *unverifiable* (neutral). A denial is supported only when it denies a measured,
absent cue, and denials earn credit at most as often as supported positive claims
(``n_credited = min(n_denials_supported, n_supported)``): "no AU1, no AU2, no AU4" alone
scores 0, and "no AU99" is unsupported.

Score = ``(s − c) / (s + c)`` with ``s = n_supported + n_credited`` and
``c = n_contradicted + n_unsupported`` (range [−1, 1]; 0 when nothing is checkable). A row
without cues gives ``None`` (not applicable); an unreadable cue payload gives ``None`` and is
reported once per reward (a warning, and ``n_errors``/``last_error``), never a silent 0. Only the first 20 000
characters and 256 mentions of each kind are read. All patterns are alternations of
literals with single quantifiers (no nesting), so matching is linear in the text length.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mmemo.encoders.contract import CueError, CuePayload, parse_cues
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
        + r"rising(?![- ]fall| then)|upward inflection|pitch rises",
        ("intonation", "rising"),
    ),
    (
        r"falling (?:intonation|pitch|tone|inflection|contour)|(?:intonation|tone|inflection) "
        + _BE
        + r"falling(?![- ]ris| then)|downward inflection|pitch falls",
        ("intonation", "falling"),
    ),
    (
        r"flat (?:intonation|tone|pitch|contour|delivery)|monoton\w*|(?:intonation|contour) "
        + _BE
        + r"flat",
        ("intonation", "flat"),
    ),
    (
        r"rising then falling|ris(?:e|ing)[- ]fall(?:ing)?|rises then falls",
        ("intonation", "rising-falling"),
    ),
    (
        r"falling then rising|fall(?:ing)?[- ]ris(?:e|ing)|falls then rises",
        ("intonation", "falling-rising"),
    ),
    (
        r"expressive (?:intonation|pitch|contour|prosody|melody|\(range)|(?:intonation|contour) "
        + _BE
        + r"expressive",
        ("intonation", "expressive"),
    ),
    # the bare level words of ProsodyCues.describe ("..., soft, fast, 2 pauses")
    (r"normal loudness", ("energy_level", "normal")),
    (r"normal rate", ("speed_level", "normal")),
    (r"soft\b", ("energy_level", "low")),
    (r"fast\b", ("speed_level", "high")),
    (r"slow\b", ("speed_level", "low")),
]
# "pitch high and rising (+4 st)": a level and an intonation in one phrase (describe()).
_PITCH_AND_RE = re.compile(
    r"\bpitch (high|normal|low) and (rising then falling|falling then rising|rising|falling"
    r"|flat|expressive)\b"
)
_SHAPE = {
    "rising then falling": "rising-falling",
    "falling then rising": "falling-rising",
}
# "AU4, AU9 absent" / "AU4 and AU9 are absent": a denial written after the AU list
_ABSENT_AFTER = re.compile(
    r"(?:(?:,| and|\+) ?au ?\d{1,3})* (?:(?:is|are|was|were) )?(?:absent|not present|missing)\b"
)
_PHRASES = _AU_PHRASES + _PROSODY_PHRASES
_CLAIM_RE = re.compile(r"\b(?:" + "|".join(f"({p})" for p, _ in _PHRASES) + ")")
_CLAIMS = [(kind, frozenset(v) if kind == "au" else v) for _, (kind, v) in _PHRASES]
_AU_RE = re.compile(r"\bau ?(\d{1,3})\b")
_NEGATORS = frozenset(
    ("no", "not", "without", "absent", "absence", "never", "lacks", "lacking", "nor", "neither")
)


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
    ...  for c in parse_claims("Lips pressed, no AU12; AU4 absent")]
    [('au', ['AU12'], True), ('au', ['AU4'], True), ('au', ['AU24'], False)]
    >>> [(c.kind, c.value) for c in parse_claims("pitch high and rising, soft")]
    [('pitch_level', 'high'), ('intonation', 'rising'), ('energy_level', 'low')]
    """
    low = text[:max_chars].lower()
    claims: dict[Claim, None] = {}
    for n, m in enumerate(_AU_RE.finditer(low)):
        if n >= max_mentions:
            break
        denied = _negated(low, m.start()) or bool(_ABSENT_AFTER.match(low, m.end()))
        claims.setdefault(Claim("au", frozenset({f"AU{int(m.group(1))}"}), denied))
    for n, m in enumerate(_PITCH_AND_RE.finditer(low)):
        if n >= max_mentions:
            break
        denied = _negated(low, m.start())
        claims.setdefault(Claim("pitch_level", m.group(1), denied))
        claims.setdefault(Claim("intonation", _SHAPE.get(m.group(2), m.group(2)), denied))
    for n, m in enumerate(_CLAIM_RE.finditer(low)):
        if n >= max_mentions:
            break
        kind, value = _CLAIMS[m.lastindex - 1]
        claims.setdefault(Claim(kind, value, _negated(low, m.start())))
    return list(claims)


def read_cues(value: Any, au_threshold: float = 1.0) -> CuePayload:
    """The cue payload of one sample (:func:`mmemo.encoders.contract.parse_cues`)."""
    return parse_cues(value, au_threshold)


def check_claim(claim: Claim, cues: CuePayload) -> str:
    """``"supported"``, ``"contradicted"``, ``"unsupported"`` or ``"unverifiable"``."""
    if claim.kind == "au":
        states = [cues.au_state(au) for au in claim.value]
        if True in states:
            return "contradicted" if claim.negated else "supported"
        if states and all(s is False for s in states):
            return "supported" if claim.negated else "contradicted"
        return "unsupported"  # not measured: no face part, or an AU the encoder lacks
    if not cues.has_voice:
        return "unsupported"
    level = cues.level(claim.kind)
    if level is None:
        return "unverifiable"
    return "supported" if (level == claim.value) != claim.negated else "contradicted"


def grounding_counts(claims: Sequence[Claim], cues: CuePayload | None) -> dict[str, int]:
    """Verdict counts of ``claims`` (see the module docstring).

    Keys: ``n_claims``, ``n_supported`` (positive claims), ``n_denials`` (supported denials),
    ``n_credited`` (denials that count: at most ``n_supported``), ``n_contradicted``,
    ``n_unsupported``, ``n_unverifiable``.
    """
    counts = dict.fromkeys(("supported", "denials", "contradicted", "unsupported"), 0)
    counts["unverifiable"] = 0
    for claim in claims:
        verdict = "unverifiable" if cues is None else check_claim(claim, cues)
        if verdict == "supported" and claim.negated:
            verdict = "denials"
        counts[verdict] += 1
    out = {"n_claims": len(claims), **{f"n_{k}": v for k, v in counts.items()}}
    out["n_credited"] = min(out["n_denials"], out["n_supported"])
    return out


def grounding_score(counts: dict[str, int]) -> float:
    """``(s − c) / (s + c)`` of :func:`grounding_counts` (0 when nothing is checkable)."""
    s = counts["n_supported"] + counts["n_credited"]
    c = counts["n_contradicted"] + counts["n_unsupported"]
    return 0.0 if s + c == 0 else (s - c) / (s + c)


class CueGroundingReward(Reward):
    """Reward supported cue claims and penalise contradicted ones (range [−1, 1]).

    See the module docstring for the parser, the ``cues`` layout and the score.
    ``span="think"`` (default) reads the first think span; ``"all"`` the whole completion.

    >>> r = CueGroundingReward()
    >>> r(["<think>AU12 and a loud voice</think><answer>happy</answer>"],
    ...   cues=[{"aus": {"AU12": 3.0}, "energy_level": "low"}])
    [0.0]
    >>> r(["<think>AU12 and AU6, a loud voice</think>", "<think>no AU4, no AU9, no AU99</think>"],
    ...   cues=["Face: AU6+AU12 strong; AU4, AU9 absent. Voice: pitch high, loud, fast."] * 2)
    [1.0, -1.0]
    """

    __name__ = "cue_grounding_reward"
    value_range = (-1.0, 1.0)
    fallback = None

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
        raw = column(columns, self.column, index)
        if raw is None:
            return None  # a row without cues: not applicable
        try:
            cues = read_cues(raw, self.au_threshold)
        except CueError as exc:  # reported once (warning + n_errors), not a silent 0
            self._record_error(exc, index)
            return None
        if self.span == "think":
            text = think_span(text, self.style)
        counts = grounding_counts(parse_claims(text, self.max_chars), cues)
        return {"overall": grounding_score(counts), **counts}


def get_cue_grounding_reward(**params: Any) -> CueGroundingReward:
    """Factory for :class:`CueGroundingReward`."""
    return CueGroundingReward(**params)
