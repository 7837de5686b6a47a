"""Cue grounding against the cues the encoders write (objects, ``mmemo cues`` JSON, text)."""

import itertools

import pytest

from mmemo.encoders.base import AU_NAMES
from mmemo.encoders.contract import INTONATIONS, LEVELS
from mmemo.encoders.pipeline import MediaCues
from mmemo.rewards.grounding import CueGroundingReward, parse_claims, read_cues
from mmemo.rewards.reasoning import CueJudge, JudgeItem
from tests.cue_builders import au_cues, forms, media_cues

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
    assert claims("AU4, AU9 absent") == {("au", ("AU4",), True), ("au", ("AU9",), True)}


@pytest.mark.parametrize(
    ("pitch", "energy", "speed", "intonation"),
    list(itertools.product(LEVELS, LEVELS, LEVELS, INTONATIONS)),
)
def test_parser_reads_every_word_prosody_describe_writes(pitch, energy, speed, intonation):
    """Generated from the encoder's own vocabulary: every level and intonation class that
    ProsodyCues.describe() can write is parsed back as the right claim."""
    cues = media_cues({}, pitch, energy, speed, intonation).prosody
    got = claims(cues.describe())
    for dim, value in (
        ("pitch_level", pitch), ("energy_level", energy), ("speed_level", speed),
        ("intonation", intonation),
    ):  # fmt: skip
        assert (dim, value, False) in got, (cues.describe(), dim, value, got)
    assert len({(k, v) for k, v, _ in got}) == 4, (cues.describe(), got)
    # the contract's own text form (CuePayload.describe) is read the same way
    payload_text = read_cues(cues).describe()
    assert {(k, v) for k, v, _ in claims(payload_text)} == {(k, v) for k, v, _ in got}


@pytest.mark.parametrize("au", list(AU_NAMES))
def test_parser_reads_every_au_describe_writes(au):
    text = au_cues({au: 2.5}).describe()
    got = claims(text)
    assert ("au", (au,), False) in got, text
    assert all(neg for kind, (name,), neg in got if name != au), (text, got)


def test_describe_text_of_the_cues_scores_one_against_the_same_cues():
    cues = media_cues({"AU6": 3.0, "AU12": 4.0}, "high", "low", "high", "rising-falling")
    r = CueGroundingReward()
    text = f"<think>{cues.describe()}</think><answer>happy</answer>"
    for form in forms(cues):
        assert r([text], cues=[form]) == [1.0], form if isinstance(form, str) else type(form)
        assert r.last_components[0]["n_supported"] == 6  # AU6, AU12, pitch, shape, soft, fast


def test_grounding_on_encoder_cue_forms_is_not_constant():
    """With the JSON `mmemo cues` writes and with describe() text, true claims beat false
    ones (the old reward returned 0 for every completion on both forms)."""
    cues = media_cues({"AU6": 3.0, "AU12": 4.0}, "high", "high", "high", "rising")
    completions = [
        "<think>Cheeks raised, AU12 smile, high pitch, loud and fast.</think><answer>happy</answer>",
        "<think>Furrowed brow (AU4), lip corner depressor, low pitch, soft, slow.</think>",
        "<think>no AU1, no AU2, no AU4, no AU9</think><answer>happy</answer>",
        "<think>no AU99, no AU98</think><answer>happy</answer>",
        "no think span at all",
    ]
    for form in forms(cues):
        out = CueGroundingReward()(completions, cues=[form] * len(completions))
        assert out == [1.0, -1.0, 0.0, -1.0, 0.0], type(form)


def test_denial_spam_is_capped_and_unknown_aus_unsupported():
    cues = media_cues({"AU12": 3.0})
    r = CueGroundingReward()
    spam = "<think>No AU1, no AU2, no AU4, no AU9</think>"
    true_claim = "<think>AU12</think>"
    true_plus_denials = "<think>AU12 is present; no AU1, no AU2, no AU4, no AU9</think>"
    out = r([spam, true_claim, true_plus_denials], cues=[cues.to_dict()] * 3)
    assert out == [0.0, 1.0, 1.0]
    assert r.last_components[0]["n_denials"] == 4 and r.last_components[0]["n_credited"] == 0
    assert r.last_components[2]["n_credited"] == 1
    # a false positive claim is not rescued by true denials
    mixed = "<think>AU4; no AU1, no AU2, no AU9</think>"
    assert r([mixed], cues=[cues.to_dict()]) == [-1.0]
    # claims about a modality that was not measured count against
    face_only = MediaCues("f.png", "image", 0.0, face=au_cues({"AU12": 3.0}))
    assert r(["<think>AU12, loud voice</think>"], cues=[face_only.to_dict()]) == [0.0]
    assert r.last_components[0]["n_unsupported"] == 1


def test_flat_manifest_layout_still_reads():
    r = CueGroundingReward()
    texts = [
        # 4 supported (AU6, AU12, high pitch, fast), 1 contradicted (loud vs normal)
        "<think>Cheeks raised, AU12, high-pitched, talks quickly and loud.</think>",
        # AU4 contradicted, AU15 contradicted, falling contradicted
        "<think>Furrowed brows, lip corner depressor, falling intonation.</think>",
        "<think>She seems happy overall.</think><answer>happy</answer>",  # nothing claimed
        "<think>AU45 blinking, AU9</think><answer>x</answer>",  # not in the measured dict
        "Cheeks raised outside any think span",
    ]
    out = r(texts, cues=[CUES] * len(texts))
    assert out == [pytest.approx(3 / 5), -1.0, 0.0, -1.0, 0.0]
    assert r.last_components[3]["n_unsupported"] == 2
    assert CueGroundingReward(span="all")([texts[4]], cues=[CUES]) == [1.0]
    assert CueGroundingReward(au_threshold=0.3)(["<think>AU2, AU4</think>"], cues=[CUES]) == [
        0.0
    ]  # AU2 0.4 present, AU4 0.2 absent


def test_unreadable_cues_are_reported_not_a_silent_constant(caplog):
    r = CueGroundingReward()
    with caplog.at_level("WARNING"):
        out = r(["<think>AU12</think>"] * 3, cues=[None, "free text only", "{not json"])
    assert out == [None, None, None]  # no cues: not applicable; the other two: errors
    assert r.n_errors == 2 and "no cue recognised" in r.last_error
    assert len([m for m in caplog.messages if "cue_grounding_reward" in m]) == 1


def test_read_cues_agrees_between_json_and_text():
    cues = media_cues({"AU1": 2.0, "AU4": 3.6, "AU15": 1.5}, "low", "low", "low", "falling")
    payloads = [read_cues(form) for form in forms(cues)]
    for p in payloads:
        assert sorted(p.present) == ["AU1", "AU15", "AU4"]
        assert p.measured == frozenset(AU_NAMES)
        assert p.voice == {
            "pitch_level": "low", "energy_level": "low", "speed_level": "low",
            "intonation": "falling",
        }  # fmt: skip


def test_cue_judge_reads_encoder_json_and_punishes_spam():
    cues = media_cues({"AU6": 3.0, "AU12": 4.0}).to_dict(contours=False)
    judge = CueJudge()
    items = [
        JudgeItem("", "AU6 and AU12, high pitch", "happy", {"cues": cues}),
        JudgeItem("", "no AU1, no AU2, no AU4", "happy", {"cues": cues}),
        JudgeItem("", "AU4, low pitch", "sad", {"cues": cues}),
        JudgeItem("", "AU12", "happy", {"cues": "unreadable words"}),
    ]
    assert judge.score(items) == [1.0, 0.0, 0.0, None]
    assert judge.n_errors == 1
