import re

import pytest

from mmemo.rewards.parsing import (
    completion_text,
    layout_ok,
    split_think_answer,
    strip_answer_tags,
    tag_pair,
)

REF = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)


def test_completion_text_string_and_chat_forms():
    assert completion_text("plain") == "plain"
    chat = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "first"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "a"},
                {"type": "image"},
                {"type": "text", "text": "b"},
            ],
        },
    ]
    assert completion_text(chat) == "ab"
    assert completion_text([{"role": "user", "content": "only user"}]) == "only user"
    assert completion_text({"role": "assistant", "content": "dict"}) == "dict"
    for junk in (None, 3, [], [1, 2], [{"role": "assistant"}], [{"content": 5}]):
        assert completion_text(junk) == ""


def test_split_takes_first_think_and_last_answer():
    text = "<think>one</think><think>two</think><answer>x</answer> <answer>y</answer>"
    think, answer, ok = split_think_answer(text)
    assert (think, answer) == ("one", "y")
    assert ok == bool(REF.fullmatch(text))


def test_split_missing_spans_are_empty():
    assert split_think_answer("") == ("", "", False)
    assert split_think_answer("<think>unclosed <answer>x") == ("", "", False)
    assert split_think_answer("<answer>only</answer>") == ("", "only", False)
    assert split_think_answer("  <think>t</think>\n<answer>a</answer>\n") == ("t", "a", True)


def test_kardia_tags():
    text = "<|think_begin|>brows down<|think_end|> <|answer_begin|>angry<|answer_end|>"
    assert split_think_answer(text, style="kardia") == ("brows down", "angry", True)
    assert tag_pair("x", ("[{}]", "[/{}]")) == ("[x]", "[/x]")
    with pytest.raises(ValueError, match="unknown tag style"):
        tag_pair("x", "nope")


@pytest.mark.parametrize(
    "text",
    [
        "<think>a</think><answer>b</answer>",
        "<think>a</think> \n\t<answer>b</answer>",
        "<think></think><answer></answer>",
        "<think>a</think>b</think> <answer>c</answer>",
        "<think>a</think><answer>b</answer>c</answer>",
        "<think>a</think>x<answer>b</answer>",
        "<think>a</think><answer>b</answer> ",
        " <think>a</think><answer>b</answer>",
        "<think>a<answer>b</answer>",
        "<think></answer></think><answer>",
        "<think></think><answer></answer></think><answer>",
        "<think>a</think><answer>",
        "<think><answer></answer></think>",
        "<think></think><answer>/answer>",
        "<think></think>\u2003<answer>x</answer>",
    ],
)
def test_layout_matches_reference_regex(text):
    assert layout_ok(text, "fullmatch") == bool(REF.fullmatch(text))
    assert layout_ok(text, "prefix") == bool(REF.match(text))
    answer_ref = re.fullmatch(r"<answer>.*?</answer>", text, re.DOTALL)
    assert layout_ok(text, "answer_only") == bool(answer_ref)


def test_layout_is_linear_on_adversarial_input():
    import time

    text = "<think>" + "</think> <answer>" * 50_000
    start = time.perf_counter()
    assert layout_ok(text) is False
    assert layout_ok("<think>" * 100_000, "prefix") is False
    assert time.perf_counter() - start < 1.0


def test_strip_answer_tags():
    assert strip_answer_tags("<answer> Sad </answer>") == "Sad"
    assert strip_answer_tags(" happy ") == "happy"
    assert strip_answer_tags(None) == ""
    assert strip_answer_tags(3) == "3"
