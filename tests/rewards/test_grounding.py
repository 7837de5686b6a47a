import json

import pytest

from mmemo.rewards.grounding import CueGroundingReward, MeasuredCues, parse_claims

CUES = {
    "aus": {"AU6": 2.5, "AU12": 3.1, "AU4": 0.2, "AU1": 0.0, "AU2": 0.4, "AU15": 0.0},
    "pitch_level": "high",
    "energy_level": "normal",
    "speed_level": "fast",
    "intonation": "rising",
}


def claims(text):
    return {
        (c.kind, tuple(sorted(c.value)) if c.kind == "au" else c.value, c.negated)
        for c in parse_claims(text)
    }


def test_parser_reads_au_names_tokens_and_prosody():
    got = claims(
        "Her cheeks are raised and the lip corner puller (AU 12) is active; brows raised. "
        "Pitch is very high, she speaks quickly with a rising intonation, quite loud."
    )
    assert got == {
        ("au", ("AU6",), False),
        ("au", ("AU12",), False),
        ("au", ("AU1", "AU2"), False),
        ("pitch_level", "high", False),
        ("speed_level", "high", False),
        ("intonation", "rising", False),
        ("energy_level", "high", False),
    }


def test_parser_negation_and_dedup():
    got = claims("No smile. AU12 absent? Not loud, without frowning; she smiles, smiling.")
    assert ("au", ("AU12",), True) in got and ("au", ("AU12",), False) in got
    assert ("energy_level", "high", True) in got
    assert ("au", ("AU4",), True) in got
    assert len([c for c in parse_claims("smile smile smiling AU12 AU012") if not c.negated]) == 1


def test_measured_cues_forms():
    dict_form = MeasuredCues.from_value(CUES)
    assert dict_form.present == {"AU6", "AU12"} and "AU15" in dict_form.measured
    list_form = MeasuredCues.from_value({"aus": ["AU06", 12], "intonation": "Falling"})
    assert list_form.present == {"AU6", "AU12"} and list_form.measured is None
    assert list_form.levels == {"intonation": "falling"}
    assert MeasuredCues.from_value(json.dumps(CUES)).levels["speed_level"] == "high"
    assert MeasuredCues.from_value(None) is None and MeasuredCues.from_value({}) is None


def test_grounding_golden_scores():
    r = CueGroundingReward()
    texts = [
        # 4 supported (AU6, AU12, high pitch, fast), 1 contradicted (loud vs normal)
        "<think>Cheeks raised, AU12, high-pitched, talks quickly and loud.</think><answer>happy</answer>",
        # AU4 contradicted, AU15 contradicted, falling contradicted
        "<think>Furrowed brows, lip corner depressor, falling intonation.</think><answer>sad</answer>",
        "<think>She seems happy overall.</think><answer>happy</answer>",  # nothing claimed
        "<think>AU45 blinking, AU9</think><answer>x</answer>",  # unmeasured AUs
        "<think>no frown, not slow speech</think><answer>x</answer>",  # negations supported
        "Cheeks raised outside any think span",
    ]
    out = r(texts, cues=[CUES] * len(texts))
    assert out == [pytest.approx(3 / 5), -1.0, 0.0, 0.0, 1.0, 0.0]
    comps = r.last_components
    assert (comps[0]["n_supported"], comps[0]["n_contradicted"]) == (4, 1)
    assert comps[3]["n_unverifiable"] == 2
    assert CueGroundingReward(span="all")([texts[5]], cues=[CUES]) == [1.0]


def test_grounding_without_cues_is_zero():
    r = CueGroundingReward()
    assert r(["<think>AU12 smile</think>"], cues=[None]) == [0.0]
    assert r.last_components[0]["n_unverifiable"] == 1


def test_au_threshold_and_list_cues():
    text = "<think>AU2 and AU4 present</think>"
    assert CueGroundingReward(au_threshold=0.3)([text], cues=[CUES]) == [
        0.0
    ]  # AU2 0.4 ok, AU4 0.2 no
    listed = {"aus": ["AU4"], "aus_measured": ["AU4", "AU12"]}
    assert CueGroundingReward()(["<think>AU4, AU12, AU45</think>"], cues=[listed]) == [0.0]
    assert CueGroundingReward()(["<think>frowning, AU25</think>"], cues=[listed]) == [1.0]
