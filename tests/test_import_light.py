"""``import mmemo`` and the CLI parser must not pull in heavy libraries."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["torch", "transformers", "trl", "mediapipe", "tensorflow", "jax", "opensmile", "librosa"]


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys; {code}; print(','.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return {m for m in out.stdout.strip().split(",") if m}


def test_import_mmemo_is_light():
    assert _loaded_after("import mmemo") == set()


def test_cli_parser_is_light():
    assert _loaded_after("import mmemo.cli; mmemo.cli.build_parser()") == set()


def test_lazy_attribute_resolves():
    assert _loaded_after("import mmemo; mmemo.MediaError; mmemo.load_manifest") == set()


def test_the_check_can_fail():
    # guard against a probe that always reports nothing
    assert "json" in subprocess.run(
        [sys.executable, "-c", "import sys, json; print('json' in sys.modules and 'json')"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert _loaded_after("import torch") == {"torch"}
