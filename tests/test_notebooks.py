"""Every notebook in ``notebooks/`` runs top to bottom, offline, in a fresh temporary folder.

Each is executed with nbclient on the ``python3`` kernel of the running interpreter (the
venv ships its kernelspec in ``share/jupyter/kernels``); a cell that raises fails the test
with its traceback. Per-notebook checks then read the outputs. Notebooks that do not exist
yet (``02_finetune.ipynb`` until ``mmemo finetune`` lands) are simply not collected.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TIMEOUT_S = 180  # per cell; the GRPO recipe cell is the slowest (about 20 s on 2 CPU cores)


def _text(nb) -> str:
    """All stream and text/plain outputs of the executed notebook, joined."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out["text"])
            elif "data" in out and "text/plain" in out["data"]:
                parts.append(out["data"]["text/plain"])
    return "\n".join(parts)


def _images(nb) -> int:
    return sum(
        "image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", [])
    )


def _check_quickstart(nb, workdir: Path) -> None:
    text = _text(nb)
    assert (workdir / "sample" / "sample_clip.mp4").is_file()
    emotion = re.search(r"^emotion:\s+(\w+)", text, re.M)
    assert emotion, text[-2000:]
    assert re.search(r"^rationale: .*\S", text, re.M), "no rationale printed"
    assert "Voice:" in text and "Face:" in text, "cue text missing"
    assert _images(nb) >= 2, "the AU heatmap and prosody figures were not displayed"


def _check_grpo(nb, workdir: Path) -> None:
    text = _text(nb)
    final = workdir / "runs" / "cue_text" / "grpo" / "final"
    assert (final / "model.safetensors").is_file()
    assert re.search(r"SFT losses: \[\d", text), text[-2000:]
    for name in ("format_reward", "accuracy_reward", "length_band_reward"):
        assert f"rewards/{name}/mean" in text, f"{name} not shown"


CHECKS: dict[str, Callable] = {
    "01_quickstart.ipynb": _check_quickstart,
    "03_grpo_recipe.ipynb": _check_grpo,
}


def _kernel_available() -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.skip(
            f"no 'python3' Jupyter kernel: run '{sys.executable} -m ipykernel install --sys-prefix'"
        )
    # "python" in the spec is replaced by this interpreter; any other must be this venv's
    exe = spec.argv[0]
    if exe not in ("python", "python3") and Path(exe).resolve() != Path(sys.executable).resolve():
        pytest.skip(f"the python3 kernel runs {exe}, not this interpreter {sys.executable}")


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_runs(name: str, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    _kernel_available()
    if name == "01_quickstart.ipynb" and not (shutil.which("ffmpeg") and shutil.which("espeak-ng")):
        pytest.skip("the quickstart needs ffmpeg and espeak-ng to make its sample clip")

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        f"{name} is stored with outputs; clear them before committing"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", MPLBACKEND="Agg")
    client = nbclient.NotebookClient(
        nb,
        timeout=TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env=env, cwd=str(tmp_path))
    check = CHECKS.get(name)
    if check is not None:
        check(nb, tmp_path)
