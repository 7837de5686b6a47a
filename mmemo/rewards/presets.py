"""Reward presets of known recipes (rewards.md §15), as plain functions.

Each returns a :class:`Preset`: ``components`` (``(reward, weight, schedule)`` triples, to
pass through :func:`mmemo.rewards.core.to_trl` or :class:`mmemo.rewards.core.WeightedSum`),
``shapers`` (group-aware, applied after the gather) and ``trainer`` (the GRPO settings the
reference used, for the recipe YAML to copy). Recipes reference them by dotted path, e.g.
``mmemo.rewards.presets.facial_r1``. Values marked *unconfirmed* in rewards.md are mmemo's
guesses, not the papers' settings.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from mmemo.rewards.core import Reward
from mmemo.rewards.grounding import CueGroundingReward
from mmemo.rewards.length import SoftOverlongReward
from mmemo.rewards.outcome import (
    AccuracyReward,
    AUF1Reward,
    CaptionOverlapReward,
    EmotionSimilarityReward,
    EWF1Reward,
    FormatReward,
    LabelCountPenalty,
)
from mmemo.rewards.reasoning import CueJudge, JudgeReward
from mmemo.rewards.schedules import Constant
from mmemo.rewards.shapers import TrustWeightedReasoning
from mmemo.rewards.tree import AffectTreeReward


class Preset(NamedTuple):
    components: list[tuple[Reward, float, Any]]
    shapers: list[Any]
    trainer: dict[str, Any]


def facial_r1(column: str = "emotion", au_column: str = "aus", normalise: bool = True) -> Preset:
    """Facial-R1: format + accuracy + AU-set F1 in [−1, 1], plain sum (cosine/repetition off)."""
    return Preset(
        components=[
            (FormatReward(mode="fullmatch"), 1.0, Constant()),
            (AccuracyReward(column=column, normalise=normalise), 1.0, Constant()),
            (AUF1Reward(column=au_column, rescale="[-1,1]"), 1.0, Constant()),
        ],
        shapers=[],
        trainer={
            "num_generations": 8, "beta": 0.0, "max_completion_length": 256,
            "temperature": 0.9, "learning_rate": 1e-6, "epsilon": 0.2,
            "sft": {"learning_rate": 5e-6, "num_train_epochs": 2, "max_length": 2048},
        },
    )  # fmt: skip


def emotion_thinker_ptr(
    column: str = "emotion",
    judge: Any = None,
    lambda_max: float = 0.3,
    t_on: float = 0.1,
    t_full: float = 0.4,
    schedule: str = "ramp",
    outcome: str = "graded",
) -> Preset:
    """EmotionThinker GRPO-PTR: format + accuracy + judged reasoning under a trust weight.

    The judge reward is gated locally (outcome ≥ 0.2) and its column is rewritten by the
    :class:`TrustWeightedReasoning` shaper to ``λ(step)·trust·t`` (``t_on``/``t_full`` as
    fractions of max steps). Default judge: the offline :class:`CueJudge`.

    ``outcome`` is what the gate and the trust weight read: ``"graded"`` (default) adds
    :class:`EmotionSimilarityReward` as a weight-0 column (1 correct, up to 0.45 for a near
    miss), so wrong but well-reasoned-looking answers are judged and trust can fall below 1;
    ``"accuracy"`` is SophiaVL-R1's setting on 0/1 accuracy, where no wrong answer is ever
    judged and trust stays 1. EmotionThinker (arXiv 2601.15668) states a within-group trust
    weight but its RL code and outcome definition are not public: the graded outcome is
    mmemo's proposal. Ramp shape, onset, maximum, gates and judge are *unconfirmed*.
    """
    if outcome not in ("graded", "accuracy"):
        raise ValueError(f"outcome must be 'graded' or 'accuracy', got {outcome!r}")
    accuracy = AccuracyReward(column=column)
    gate_on: Reward = accuracy if outcome == "accuracy" else EmotionSimilarityReward(column)
    judge_reward = JudgeReward(judge=judge if judge is not None else CueJudge(), outcome=gate_on)
    components: list[tuple[Reward, float, Any]] = [
        (FormatReward(mode="fullmatch"), 1.0, Constant()),
        (accuracy, 1.0, Constant()),
        (judge_reward, 1.0, Constant()),
    ]
    if gate_on is not accuracy:
        components.append((gate_on, 0.0, Constant()))  # read by the shaper, not summed
    return Preset(
        components=components,
        shapers=[
            TrustWeightedReasoning(
                outcome=gate_on.__name__,
                reasoning=judge_reward.__name__,
                schedule=schedule,
                lambda_max=lambda_max,
                t_on=t_on,
                t_full=t_full,
            )
        ],
        trainer={"num_generations": 8, "temperature": 1.0, "learning_rate": 1e-6},
    )


def affectgpt_r1(
    column: str = "emotions",
    think: bool = True,
    max_completion_length: int = 512,
    think_max_len: int = 384,
    tokenizer: Any = None,
    K: int = 3,
    kappa: float = 0.25,
    format_weight: float = 0.5,
) -> Preset:
    """AffectGPT-R1: EW set F1 + format (β 0.5) + label-count penalty + soft overlong.

    ``think=True``: overlong on the think span (tokens when ``tokenizer`` is given, else
    whitespace words, an approximation); ``think=False``: answer-only format and overlong
    on the whole completion in tokens. Weights, K, κ and G are *unconfirmed*.
    """
    if think:
        unit = "tokens" if tokenizer is not None else "words"
        overlong = SoftOverlongReward(think_max_len, span="think", unit=unit, tokenizer=tokenizer)
        fmt = FormatReward(mode="fullmatch")
    else:
        overlong = SoftOverlongReward(max_completion_length, span="all", unit="tokens")
        fmt = FormatReward(mode="answer_only")
    return Preset(
        components=[
            (EWF1Reward(column=column), 1.0, Constant()),
            (fmt, format_weight, Constant()),
            (LabelCountPenalty(K=K, kappa=kappa), 1.0, Constant()),
            (overlong, 1.0, Constant()),
        ],
        shapers=[],
        trainer={"num_generations": 8, "max_completion_length": max_completion_length},
    )


def videmo_tree(
    column: str = "emotion", caption_column: str = "caption", tree_column: str = "affect_tree"
) -> Preset:
    """VidEmo: format + QA accuracy + caption overlap + affective-tree TED, equal weights.

    The caption term is a deterministic word-overlap stand-in for VidEmo's judge/embedding
    similarity (*proposal*); weights and G are *unconfirmed*.
    """
    return Preset(
        components=[
            (FormatReward(mode="fullmatch"), 1.0, Constant()),
            (AccuracyReward(column=column), 1.0, Constant()),
            (CaptionOverlapReward(column=caption_column), 1.0, Constant()),
            (AffectTreeReward(column=tree_column), 1.0, Constant()),
        ],
        shapers=[],
        trainer={"num_generations": 8},
    )


def cue_grounded(column: str = "emotion", cues_column: str = "cues") -> Preset:
    """mmemo's own: format + accuracy + cue grounding of the think span, equal weights."""
    return Preset(
        components=[
            (FormatReward(mode="fullmatch"), 1.0, Constant()),
            (AccuracyReward(column=column), 1.0, Constant()),
            (CueGroundingReward(column=cues_column), 1.0, Constant()),
        ],
        shapers=[],
        trainer={"num_generations": 8},
    )
