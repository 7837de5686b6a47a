"""Run the docstring examples of every rewards module (each reward documents one)."""

import doctest
import importlib

import pytest

MODULES = [
    "parsing", "core", "schedules", "outcome", "length", "grounding", "reasoning", "tree",
    "shapers", "presets",
]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    module = importlib.import_module(f"mmemo.rewards.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} doctest failures in mmemo.rewards.{name}"


def test_public_names_resolve_lazily():
    import mmemo.rewards as rewards

    for name in rewards.__all__:
        assert getattr(rewards, name) is not None
    assert rewards.get_format_reward()(["<think>a</think><answer>b</answer>"]) == [1.0]
