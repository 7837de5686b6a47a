"""Shared fixtures. Everything runs offline on CPU; nothing is downloaded.

- ``shared_data``: the real corpora in ``../shared/data`` (tests marked ``data`` skip cleanly
  when it is absent).
- ``media_dir``: real media made on the spot (espeak-ng speech, ffmpeg-muxed face video) and
  broken variants, built once per session (see ``tests/media_fixtures.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MMEMO_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real corpora not found at {SHARED_DATA} (set MMEMO_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.media_fixtures import build_media

    return build_media(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tiny random-weight backbones are built (once per test run)."""
    return tmp_path_factory.mktemp("tiny_models")


@pytest.fixture(scope="session")
def tiny(tiny_root):
    """``tiny(family)`` -> folder of a tiny checkpoint of that family, built on first use."""
    from tests.models.tiny_helpers import tiny_checkpoint

    return lambda family: tiny_checkpoint(family, tiny_root)


@pytest.fixture(scope="session")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small manifest with real media (image, speech, video) for backbone tests."""
    from tests.models.tiny_helpers import make_manifest

    return make_manifest(tmp_path_factory.mktemp("manifest"))
