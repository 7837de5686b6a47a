"""The fused answer of one input: the heads' probabilities combined by their weights, made
less confident when the face and the voice disagree strongly, and capped when no measured cue
supports it (:meth:`mmemo.predict.Predictor` calls :func:`fused_answer` per input)."""

from __future__ import annotations

from typing import Any

from mmemo.prediction import ModalityResult, fuse

# what each head's learnt features read, named when such a head alone drove the answer
HEAD_FEATURES = {
    "voice": "openSMILE functionals of the speech",
    "face": "the face CNN's pixels and landmark geometry",
    "text": "the words of the transcript",
}


def fused_answer(
    m: Any, views: dict[str, ModalityResult]
) -> tuple[dict[str, float], str, str, float | None]:
    """Fused probabilities, answer, rationale and face/voice disagreement of one input.

    A strong face/voice disagreement flattens the fused distribution
    (``p ** (1 - JS * say)``, ``say`` = the weaker head's weight over the stronger's) and adds
    a warning naming both readings. When no measured cue supports the answer, and the
    answer does not come from the transcript's words, the rationale names the head whose
    learnt features drove it and the top probability is capped
    (:data:`~mmemo.heads.fusion.UNSUPPORTED_MAX`). Neither step changes the answer.
    """
    from mmemo.encoders.describe import grounded_rationale, supporting_cues
    from mmemo.heads.fusion import (
        STRONG_DISAGREEMENT,
        UNSUPPORTED_MAX,
        cap_confidence,
        contributions,
        disagreement,
        temper,
    )

    probs = {k: v.probabilities for k, v in views.items()}
    weights = {k: v.weight for k, v in views.items()}
    fused = fuse(probs, weights)
    emotion = max(fused, key=fused.get)
    conflict = None
    if "face" in probs and "voice" in probs:
        conflict = disagreement(probs["face"], probs["voice"])
        top_face = max(probs["face"], key=probs["face"].get)
        top_voice = max(probs["voice"], key=probs["voice"].get)
        if top_face != top_voice and conflict >= STRONG_DISAGREEMENT:
            # flatten by the divergence times the weaker head's relative say: a voice the
            # outlier gate has all but muted barely moves a confident face
            w_face, w_voice = weights.get("face", 1.0), weights.get("voice", 1.0)
            say = min(w_face, w_voice) / max(w_face, w_voice, 1e-9)
            fused = temper(fused, 1.0 - conflict * say)
            m.warnings.append(
                f"the modalities disagree: the face reads {top_face} "
                f"({probs['face'][top_face]:.2f}), the voice reads {top_voice} "
                f"({probs['voice'][top_voice]:.2f}) (JS divergence {conflict:.2f}); the fused "
                f"answer was made less confident in proportion to the weaker head's say "
                f"({say:.2f} of the stronger's weight)"
            )
    if m.cues is None:
        return fused, emotion, f"From the transcript only: {m.transcript!r}.", conflict
    rationale = grounded_rationale(m.cues, emotion)
    if not supporting_cues(m.cues, emotion):
        pushed = contributions(probs, weights, emotion)
        driver = max(pushed, key=pushed.get) if pushed else None
        if driver is not None and driver != "text":
            fused = cap_confidence(fused, UNSUPPORTED_MAX)
            own = probs[driver].get(emotion, 0.0)
            rationale += (
                f" The answer comes from the {driver} head ({emotion} {own:.2f} there), which "
                f"read {HEAD_FEATURES[driver]}, not from a measured cue: its stated "
                f"probability is capped at {UNSUPPORTED_MAX:.2f}."
            )
        elif driver == "text":
            rationale += f" The answer comes from the transcript: {m.transcript!r}."
    return fused, emotion, rationale, conflict
