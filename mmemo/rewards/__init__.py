"""mmemo.rewards: TRL-compatible reward callables, schedules, shapers, combiner, presets.

Every reward follows the contract of :mod:`mmemo.rewards.core` (rewards.md §14): a picklable
instance with a stable ``__name__`` and TRL's batch signature, returning
``list[float | None]`` and never raising on completion text. Parametrised rewards come from
``get_<name>_reward(**params)`` factories reachable by dotted path from YAML
(``mmemo.rewards.get_format_reward``); there is no registry.

Names are resolved lazily so ``import mmemo.rewards`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    # contract and combiner
    "Reward": "core",
    "WeightedSum": "core",
    "Scheduled": "core",
    "to_trl": "core",
    # parsing
    "completion_text": "parsing",
    "split_think_answer": "parsing",
    # outcome
    "FormatReward": "outcome",
    "AccuracyReward": "outcome",
    "EWF1Reward": "outcome",
    "LabelCountPenalty": "outcome",
    "AUF1Reward": "outcome",
    "CaptionOverlapReward": "outcome",
    "get_format_reward": "outcome",
    "get_accuracy_reward": "outcome",
    "EmotionSimilarityReward": "outcome",
    "get_emotion_similarity_reward": "outcome",
    "get_ew_f1_reward": "outcome",
    "get_label_count_penalty": "outcome",
    "get_au_f1_reward": "outcome",
    "get_caption_overlap_reward": "outcome",
    # length
    "SoftOverlongReward": "length",
    "CosineLengthReward": "length",
    "KimiLengthReward": "length",
    "RepetitionReward": "length",
    "LengthBandReward": "length",
    "get_soft_overlong_reward": "length",
    "get_cosine_length_reward": "length",
    "get_kimi_length_reward": "length",
    "get_repetition_reward": "length",
    "get_length_band_reward": "length",
    # reasoning and grounding
    "CueGroundingReward": "grounding",
    "get_cue_grounding_reward": "grounding",
    "JudgeReward": "reasoning",
    "PreferenceAsReward": "reasoning",
    "StubJudge": "reasoning",
    "CueJudge": "reasoning",
    "HTTPJudge": "reasoning",
    "get_judge_reward": "reasoning",
    "get_par_reward": "reasoning",
    "AffectTreeReward": "tree",
    "get_affect_tree_reward": "tree",
    # group-aware shapers
    "TrustWeightedReasoning": "shapers",
    "KimiLengthShaper": "shapers",
    "PARShaper": "shapers",
    "apply_shapers": "shapers",
    "group_stats": "shapers",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mmemo.rewards' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mmemo.rewards.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
