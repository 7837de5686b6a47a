from __future__ import annotations

from mmemo.data.synthesis import check_consistency, fill_reasoning, synthesise_reasoning


def test_rationale_cites_measured_cues_only_when_consistent():
    cues = {"aus": {"AU6": 2.0, "AU12": 3.0, "AU4": 0.3}, "pitch_level": "high"}
    text = synthesise_reasoning("happy", cues)
    assert "AU6 (cheek raiser)" in text and "AU12" in text and "AU4" not in text
    assert "pitch is high" in text and text.endswith("point to happy.")
    assert synthesise_reasoning("sad", cues) is None  # AU12 contradicts sad
    ok, support, against = check_consistency("sad", {"aus": ["AU15"], "energy_level": "high"})
    assert not ok and support == ["AU15"] and against == ["energy_level:high"]
    assert synthesise_reasoning("bittersweet", cues) is None  # no evidence rule


def test_fill_reasoning_keeps_existing_and_rejects_inconsistent():
    rows = [
        {"id": "1", "emotion": "happy", "cues": '{"aus": ["AU6", "AU12"]}'},
        {"id": "2", "emotion": "angry", "cues": {"aus": ["AU12"]}},
        {"id": "3", "emotion": "sad", "reasoning": "given", "cues": {"aus": ["AU12"]}},
        {"id": "4", "emotion": "sad", "cues": "free text only"},
    ]
    out = fill_reasoning(rows, verbose=False)
    assert out[0]["reasoning_source"] == "synthesis"
    assert "reasoning" not in out[1] and "reasoning" not in out[3]
    assert out[2]["reasoning"] == "given"
    assert "reasoning" not in rows[0]  # inputs untouched
