from __future__ import annotations

import pytest

from mmemo.data.prompts import (
    PromptError,
    PromptOptions,
    build_messages,
    parse_completion,
    target_text,
)

ROW = {
    "id": "a",
    "image": "f.png",
    "video": "c.mp4",
    "emotion": "happy",
    "reasoning": "AU6 AU12",
    "cues": {"aus": {"AU6": 2.0, "AU12": 0.5}, "pitch_level": "high"},
}


def test_media_parts_follow_family_and_mode():
    msgs = build_messages(ROW, PromptOptions(modalities=("image", "video")), "/d")
    parts = msgs[-1]["content"]
    assert [p["type"] for p in parts] == ["image", "video", "text"]
    assert parts[0]["path"] == "/d/f.png"
    # audio-only family reads a video's audio track
    audio = build_messages(ROW, PromptOptions(modalities=("audio",)), "/d")[-1]["content"]
    assert audio[0] == {"type": "audio", "path": "/d/c.mp4"}
    cues = build_messages(ROW, PromptOptions(inputs="cues", modalities=("image",)))[-1]["content"]
    assert [p["type"] for p in cues] == ["text"]
    assert (
        "AU6 (2.0)" in cues[0]["text"]
        and "AU12" not in cues[0]["text"]
        and "pitch high" in cues[0]["text"]
    )


def test_cues_mode_without_cues_names_the_row():
    with pytest.raises(PromptError, match="row b: inputs='cues'"):
        build_messages({"id": "b", "emotion": "sad"}, PromptOptions(inputs="cues"))


def test_targets_and_parsing_round_trip():
    t = target_text(ROW)
    assert t == "<think>AU6 AU12</think>\n<answer>happy</answer>"
    p = parse_completion(t)
    assert p.well_formed and p.answer == "happy" and p.labels()["aus"] == ["AU6", "AU12"]
    assert target_text(ROW, think=False) == "<answer>happy</answer>"
    assert parse_completion("<answer>sad</answer>", think=False).well_formed
    bad = parse_completion("<answer>a</answer> text <answer>Sad.</answer>")
    assert not bad.well_formed and bad.labels()["emotion"] == "sad"  # last answer span
    assert parse_completion("").answer == ""
    with pytest.raises(PromptError, match="row x: think=True needs"):
        target_text({"id": "x", "emotion": "sad"})


def test_cue_text_of_encoder_json_is_the_encoder_description():
    from mmemo.data.prompts import cue_text
    from mmemo.encoders.contract import cue_payload
    from tests.cue_builders import media_cues

    cues = media_cues({"AU6": 3.0, "AU12": 3.0})
    assert cue_text({"cues": cues.to_dict(contours=False)}) == cues.describe()
    text = cue_text({"cues": cue_payload(cues)})
    assert text.startswith("Face: AU6+AU12 present") and "Voice: pitch high" in text
