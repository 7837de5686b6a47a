"""Quiet by default (issue 14): a default ``mmemo predict`` run prints nothing on stderr, the
Python API leaves no native log on fd 2, and ``--verbose`` lets the third-party lines through
(which shows the check can fail)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# lines MediaPipe / TF Lite / absl / glog / protobuf / transformers print when left alone
THIRD_PARTY = re.compile(
    r"^(W0000|I0000|E0000|INFO: |WARNING: All log messages)|XNNPACK|absl|inference_feedback"
    r"|UserWarning|FutureWarning|DeprecationWarning|Loading weights|site-packages",
    re.M,
)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from mmemo.data.samples import make_sample

    return make_sample(tmp_path_factory.mktemp("demo"))["clip"]


def _run(args: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    env.pop("MMEMO_VERBOSE", None)
    for key in ("GLOG_minloglevel", "TF_CPP_MIN_LOG_LEVEL", "HF_HUB_DISABLE_PROGRESS_BARS"):
        env.pop(key, None)  # the environment a new user has
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_default_predict_run_has_an_empty_stderr(sample):
    proc = _run(["-m", "mmemo.cli", "predict", str(sample)])
    assert proc.returncode == 0, proc.stderr
    assert "happy" in proc.stdout
    assert proc.stderr == "", proc.stderr


def test_verbose_lets_the_third_party_lines_through(sample):
    proc = _run(["-m", "mmemo.cli", "predict", str(sample), "--verbose"])
    assert proc.returncode == 0
    assert THIRD_PARTY.search(proc.stderr), proc.stderr  # what the default run hides


def test_python_api_leaves_no_native_log_on_stderr(sample):
    code = (
        "from mmemo.predict import Predictor; "
        f"p = Predictor.from_pretrained('default').predict({str(sample)!r}); print(p.emotion)"
    )
    proc = _run(["-c", code])
    assert proc.returncode == 0, proc.stderr
    assert not THIRD_PARTY.search(proc.stderr), proc.stderr
