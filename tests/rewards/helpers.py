"""Shared builders for the reward tests: one instance of every reward and matching columns."""

from __future__ import annotations

from typing import Any

from mmemo.rewards.core import Reward, Scheduled, WeightedSum
from mmemo.rewards.grounding import CueGroundingReward
from mmemo.rewards.length import (
    CosineLengthReward,
    KimiLengthReward,
    LengthBandReward,
    RepetitionReward,
    SoftOverlongReward,
)
from mmemo.rewards.outcome import (
    AccuracyReward,
    AUF1Reward,
    CaptionOverlapReward,
    EWF1Reward,
    FormatReward,
    LabelCountPenalty,
)
from mmemo.rewards.reasoning import JudgeReward, PreferenceAsReward, StubJudge
from mmemo.rewards.schedules import LinearRamp
from mmemo.rewards.tree import AffectTreeReward

CUES = {
    "aus": {"AU6": 2.5, "AU12": 3.1, "AU4": 0.2, "AU1": 0.0, "AU2": 0.1, "AU15": 0.0},
    "pitch_level": "high",
    "energy_level": "normal",
    "speed_level": "fast",
    "intonation": "rising",
}
TREE = {
    "label": "root",
    "children": [
        {"label": "mouth", "children": [{"label": "smile", "children": [{"label": "happy"}]}]},
        {"label": "eyes", "children": [{"label": "crinkled", "children": []}]},
    ],
}


def every_reward() -> list[Reward]:
    """One configured instance of every shipped reward (and the combinators)."""
    acc = AccuracyReward()
    return [
        FormatReward(),
        FormatReward(mode="prefix", strip=False),
        FormatReward(mode="answer_only"),
        FormatReward(style="kardia"),
        acc,
        AccuracyReward(column="solution", normalise=False, empty_gt_value=0.5),
        EWF1Reward(),
        EWF1Reward(oov="penalise"),
        LabelCountPenalty(),
        AUF1Reward(),
        AUF1Reward(rescale="[0,1]", drop_negated=True, normalise_ids=False),
        CaptionOverlapReward(),
        SoftOverlongReward(max_len=100, cache=20),
        SoftOverlongReward(max_len=50, span="think", unit="words"),
        CosineLengthReward(max_len=200),
        CosineLengthReward(max_len=64, unit="tokens", preset="open_r1_args"),
        KimiLengthReward(group_size=4),
        RepetitionReward(),
        RepetitionReward(n=2, penalty=-1.0, unit="words"),
        LengthBandReward(lo=5, hi=40, unit="words", span="answer"),
        CueGroundingReward(),
        CueGroundingReward(span="all"),
        JudgeReward(),
        JudgeReward(judge=StubJudge(default=0.7), outcome=acc),
        PreferenceAsReward(JudgeReward(judge=StubJudge(default=0.4))),
        AffectTreeReward(),
        Scheduled(FormatReward(), LinearRamp(t_on=0, t_full=10, max=0.5)),
        WeightedSum([(FormatReward(), 1.0, None), (AUF1Reward(), 0.5, LinearRamp(0, 10))]),
    ]


def columns_for(n: int) -> dict[str, Any]:
    """Dataset columns (all names any reward reads) for ``n`` completions."""
    base = {
        "emotion": "happy",
        "solution": "<answer>happy</answer>",
        "emotions": ["happy", "relieved"],
        "aus": ["AU6", "AU12"],
        "cues": CUES,
        "affect_tree": TREE,
        "caption": "a woman smiles warmly at the camera",
        "ref_score": 0.3,
    }
    return {key: [value] * n for key, value in base.items()}


def ids_for(texts: list[str]) -> list[list[int]]:
    """Stand-in token ids: one id per character code modulo a small vocabulary."""
    return [[ord(ch) % 97 for ch in text[:5000]] for text in texts]
