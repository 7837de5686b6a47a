"""Dialogue context features for the MELD text-head experiment."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.heads.text.context import context_features, previous_index
from mmemo.heads.text.meld import MeldRow, meld_meta

META = [MeldRow(0, 0, "A"), MeldRow(0, 1, "B"), MeldRow(0, 2, "B"), MeldRow(1, 0, "A")]


def test_previous_index_stays_inside_the_dialogue():
    np.testing.assert_array_equal(previous_index(META), [-1, 0, 1, -1])
    np.testing.assert_array_equal(previous_index(META, back=2), [-1, -1, 0, -1])


def test_context_features_golden():
    X = np.arange(8, dtype=np.float32).reshape(4, 2)
    probs = np.eye(4, 7, dtype=np.float32)
    flags = context_features("flags", X, META, X, probs)[:, 2:]
    np.testing.assert_array_equal(flags, [[0, 0], [1, 1], [1, 0], [0, 0]])  # has, changed
    prev1 = context_features("prev1", X, META, X, probs)
    np.testing.assert_array_equal(prev1[:, 2:4], [[0, 0], [0, 1], [2, 3], [0, 0]])
    assert context_features("prev2", X, META, X, probs).shape == (4, 10)
    stack = context_features("stack", X, META, X, probs)
    np.testing.assert_array_equal(stack[2, 2:9], probs[1])
    with pytest.raises(ValueError, match="unknown context variant"):
        context_features("nope", X, META, X, probs)


@pytest.mark.data
def test_meld_meta_matches_meld_rows(shared_data):
    from mmemo.heads.text.meld import meld_rows

    meta = meld_meta(shared_data, "dev")
    texts, _ = meld_rows(shared_data, "dev")
    assert len(meta) == len(texts) > 1000
    same = [(a.dialogue, a.utterance) < (b.dialogue, b.utterance) for a, b in zip(meta, meta[1:])]
    assert all(s for s, a, b in zip(same, meta, meta[1:]) if a.dialogue == b.dialogue)
