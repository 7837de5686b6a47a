"""What a prediction is, and how per-modality probabilities are fused.

A :class:`Prediction` holds the top emotions with probabilities over mmemo's canonical label
set, open-vocabulary words mapped to the emotion wheel, valence/arousal, the cue summary, a
rationale grounded in the measured cues, each modality's own probabilities and weight, and
timings. Kept free of heavy imports so that readers of saved predictions stay light.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from mmemo.heads.fusion import CANONICAL_LABELS, fuse  # noqa: F401 (re-exported)

# corpus label -> canonical label (words already canonical map to themselves)
_ALIASES = {
    "anger": "angry",
    "joy": "happy",
    "happiness": "happy",
    "sadness": "sad",
    "fear": "fearful",
    "surprise": "surprised",
    "disgusted": "disgust",
}


def canonical(label: str) -> str:
    """One spelling per emotion across heads (``"anger" -> "angry"``); other words lowercased.

    Heads fine-tuned on a user's own label set keep their words (e.g. ``"frustrated"``).
    """
    word = " ".join(label.strip().lower().split())
    return _ALIASES.get(word, word)


def to_canonical(labels: Sequence[str], probs: Sequence[float]) -> dict[str, float]:
    """A head's probabilities re-keyed by canonical label."""
    out: dict[str, float] = {}
    for label, p in zip(labels, probs, strict=True):
        c = canonical(label)
        out[c] = out.get(c, 0.0) + float(p)
    return out


def restrict_labels(probabilities: Mapping[str, float], labels: Sequence[str]) -> dict[str, float]:
    """Probabilities re-expressed over a closed label set (e.g. a corpus's classes).

    Each predicted word's mass moves to the label it maps onto (exact match, else the
    taxonomy's synonyms and morphology: ``"angry" -> "anger"``); words that map onto none of
    ``labels`` are dropped and the rest renormalised. Empty when nothing maps.
    """
    from mmemo.taxonomy import normalise_label

    allowed = list(labels)
    mass: dict[str, float] = {}
    for word, p in probabilities.items():
        target = word if word in allowed else normalise_label(word, label_space=allowed)
        if target in allowed:
            mass[target] = mass.get(target, 0.0) + float(p)
    z = sum(mass.values())
    return {k: v / z for k, v in mass.items()} if z > 0 else {}


@dataclass
class ModalityResult:
    """One modality's own view: its probabilities (canonical labels), weight and input."""

    probabilities: dict[str, float]
    weight: float
    detail: str = ""  # e.g. "12 face crops from 12 frames", "speaker-normalised"


@dataclass
class Prediction:
    """The prediction for one input. ``to_dict()`` is what ``mmemo predict --json`` prints."""

    id: str
    path: str | None
    emotion: str
    probabilities: dict[str, float]
    top: list[tuple[str, float]]
    wheel: dict[str, str | None] = field(default_factory=dict)  # wheel name -> category
    valence: float | None = None
    arousal: float | None = None
    cues: str = ""
    rationale: str = ""
    modalities: dict[str, ModalityResult] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    model: str = "default"
    warnings: list[str] = field(default_factory=list)
    generated: str | None = None  # the raw text of a backbone model, when one was used
    # Jensen-Shannon divergence (bits) between the face and voice heads, when both were used
    disagreement: float | None = None
    transcript: str | None = None  # the words the text head read, if any
    transcript_source: str | None = None  # "given", or the speech recogniser ("pocketsphinx")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["top"] = [{"label": lab, "probability": round(p, 4)} for lab, p in self.top]
        d["probabilities"] = {k: round(v, 4) for k, v in self.probabilities.items()}
        d["modalities"] = {
            m: {
                "probabilities": {k: round(v, 4) for k, v in r.probabilities.items()},
                "weight": round(r.weight, 4),
                "detail": r.detail,
            }
            for m, r in self.modalities.items()
        }
        d["timings_s"] = {k: round(v, 4) for k, v in self.timings_s.items()}
        return d

    def summary(self) -> str:
        """One line for the terminal: top labels, valence/arousal, modalities used."""
        tops = ", ".join(f"{lab} {p:.2f}" for lab, p in self.top)
        va = ""
        if self.valence is not None and self.arousal is not None:
            va = f"  valence {self.valence:+.2f} arousal {self.arousal:+.2f}"
        used = "+".join(self.modalities) or "none"
        return f"{self.name}: {tops}{va}  [{used}]"

    @property
    def name(self) -> str:
        return self.path or self.id


def valence_arousal_of(probabilities: Mapping[str, float]) -> tuple[float | None, float | None]:
    """Probability-weighted valence and arousal from the taxonomy's word coordinates."""
    from mmemo.taxonomy import valence_arousal

    v = a = z = 0.0
    for label, p in probabilities.items():
        va = valence_arousal(label)
        if va is None:
            continue
        v += p * va[0]
        a += p * va[1]
        z += p
    if z == 0:
        return None, None
    return v / z, a / z


def wheel_categories(label: str) -> dict[str, str | None]:
    """The category of ``label`` in each built-in emotion wheel (level 1, innermost ring)."""
    from mmemo.taxonomy import load_wheels

    wheels = load_wheels()
    return {name: wheels.map(label, k, "level1") for k, name in enumerate(wheels.names, start=1)}
