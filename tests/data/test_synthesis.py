from __future__ import annotations

import json

from mmemo.data.synthesis import check_consistency, fill_reasoning, synthesise_reasoning
from mmemo.rewards.grounding import CueGroundingReward
from tests.cue_builders import media_cues


def test_rationale_cites_measured_cues_only_when_consistent():
    cues = {"aus": {"AU6": 2.0, "AU12": 3.0, "AU4": 0.3}, "pitch_level": "high"}
    text = synthesise_reasoning("happy", cues)
    assert "AU6 (cheek raiser)" in text and "AU12" in text and "AU4" not in text
    assert "high pitch" in text and text.endswith("point to happy.")
    assert synthesise_reasoning("sad", cues) is None  # AU12 contradicts sad
    ok, support, against = check_consistency("sad", {"aus": ["AU15"], "energy_level": "high"})
    assert not ok and support == ["AU15"] and against == ["energy_level:high"]
    assert synthesise_reasoning("bittersweet", cues) is None  # no evidence rule


def test_synthesis_reads_every_encoder_cue_form_and_the_rationale_is_grounded():
    """The JSON `mmemo cues` writes, its describe() text and corpus label words ("anger",
    "sadness") all give a rationale, and the grounding reward scores it 1 on the same cues
    (the old code wrote 0 rationales from these forms)."""
    cues = media_cues({"AU4": 3.0, "AU7": 2.0}, "high", "high", "high", "falling")
    as_json = cues.to_dict(contours=False)
    for label in ("angry", "anger"):
        for form in (as_json, json.dumps(as_json), cues.describe(), cues):
            text = synthesise_reasoning(label, form)
            assert text is not None, (label, type(form))
            score = CueGroundingReward()([f"<think>{text}</think>"], cues=[as_json])
            assert score == [1.0], text
    sad = media_cues({"AU1": 2.0, "AU15": 2.0}, "low", "low", "low", "falling").describe()
    assert "AU15 (lip corner depressor)" in synthesise_reasoning("sadness", sad)


def test_fill_reasoning_keeps_existing_and_rejects_inconsistent(capsys):
    rows = [
        {"id": "1", "emotion": "happy", "cues": '{"aus": ["AU6", "AU12"]}'},
        {"id": "2", "emotion": "angry", "cues": {"aus": ["AU12"]}},
        {"id": "3", "emotion": "sad", "reasoning": "given", "cues": {"aus": ["AU12"]}},
        {"id": "4", "emotion": "sad", "cues": "free text only"},
    ]
    out = fill_reasoning(rows, verbose=True)
    assert out[0]["reasoning_source"] == "synthesis"
    assert "reasoning" not in out[1] and "reasoning" not in out[3]
    assert out[2]["reasoning"] == "given"
    assert "reasoning" not in rows[0]  # inputs untouched
    err = capsys.readouterr().err
    assert "row 4: unreadable cues" in err and "1 with unreadable cues" in err
