from __future__ import annotations

from pathlib import Path

import pytest

from tests.models.tiny_helpers import make_manifest, tiny_checkpoint


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny_models")


@pytest.fixture(scope="session")
def tiny(tiny_root):
    return lambda family: tiny_checkpoint(family, tiny_root)


@pytest.fixture(scope="session")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("manifest"))
