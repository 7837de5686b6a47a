from __future__ import annotations

import pytest

from mmemo.taxonomy import clean_text, split_labels


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[happy, 'sad']", ["happy", "sad"]),
        ('["Happy", "SAD "]', ["happy", "sad"]),
        ("happy,sad,,", ["happy", "sad"]),
        ("[]", []),
        ("", []),
        ("[on edge, fed up]", ["on edge", "fed up"]),
        ("\u2018joyful\u2019, \u201ccalm\u201d", ["joyful", "calm"]),
        ("<think>hmm, sad</think><answer>angry, tense</answer>", ["angry", "tense"]),
        ("<answer>a</answer> <answer>b, c</answer>", ["b", "c"]),
    ],
)
def test_split_labels(text, expected):
    assert split_labels(text) == expected


def test_split_labels_reference_semantics_keeps_inner_brackets_and_spaces():
    # only ONE leading "[" and ONE trailing "]" are dropped, as in the reference parser
    assert split_labels("[[happy]]") == ["[happy]"]
    assert split_labels(["Happy", "[sad, 'calm']"]) == ["happy", "sad", "calm"]
    assert split_labels(None) == []


def test_clean_text():
    assert clean_text('  "Happiness!!" ') == "happiness"
    assert clean_text("(Fed_Up)") == "fed up"
    assert clean_text("[very   sad.]") == "very sad"
    assert clean_text("light-hearted") == "light-hearted"
