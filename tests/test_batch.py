"""``mmemo.batch``: streamed blocks of whole speakers, resume equal to an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from mmemo.batch import TEXT_BLOCK, plan, read_done
from mmemo.cli import main
from mmemo.data.inputs import InputItem

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _comparable(rec: dict) -> dict:
    """A record without its timings (the only field that differs between two runs)."""
    return {k: v for k, v in rec.items() if k != "timings_s"}


def _rounded(x, digits: int = 3):
    """Floats rounded: a worker runs torch on one thread, so the last bits of sums differ."""
    if isinstance(x, float):
        return round(x, digits)
    if isinstance(x, dict):
        return {k: _rounded(v, digits) for k, v in x.items()}
    if isinstance(x, list):
        return [_rounded(v, digits) for v in x]
    return x


def _records(path) -> list[dict]:
    return [_comparable(json.loads(line)) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def speakers(tmp_path_factory):
    """A manifest of real espeak-ng speech: 3 speakers x 3 clips, not sorted by speaker."""
    from mmemo.data.samples import speech_wav

    d = tmp_path_factory.mktemp("spk")
    rows = []
    for i in range(3):
        for s, pitch in (("ann", 20), ("bob", 50), ("cid", 80)):
            name = f"{s}{i}.wav"
            speech_wav(d / name, pitch=pitch + 5 * i, rate=130 + 20 * i,
                       text=f"This is clip {i} of the speaker called {s}.")  # fmt: skip
            rows.append({"id": f"{s}{i}", "audio": name, "speaker": s})
    rows.insert(4, {"id": "note", "transcript": "I am so happy to see you all again!"})
    manifest = d / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest


def test_plan_keeps_speakers_whole_and_batches_transcripts():
    items = [InputItem("a1", "a1.wav", speaker="a"), InputItem("b1", "b1.wav", speaker="b"),
             InputItem("x", "x.png"), InputItem("a2", "a2.wav", speaker="a")]  # fmt: skip
    items += [InputItem(f"t{i}", None, "some text") for i in range(TEXT_BLOCK + 3)]
    blocks = plan(items)
    assert blocks[:3] == [[0, 3], [1], [2]]  # speaker a grouped, in order of first clip
    assert [len(b) for b in blocks[3:]] == [TEXT_BLOCK, 3]


def test_resumed_run_equals_uninterrupted_with_speaker_normalisation(speakers, tmp_path, capsys):
    full = tmp_path / "full.jsonl"
    assert main(["predict", str(speakers), "--out", str(full), "--quiet"]) == 0
    want = _records(full)
    # clips of one speaker come out together; the voice was speaker-normalised
    assert [r["id"] for r in want][:4] == ["ann0", "ann1", "ann2", "bob0"]
    assert all("speaker-normalised" in r["modalities"]["voice"]["detail"]
               for r in want if r["id"] != "note")  # fmt: skip
    lines = full.read_text().splitlines()
    # cut inside speaker bob (2 of his 3 records kept) and in the middle of a line
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:5]) + "\n" + lines[5][:40])
    capsys.readouterr()
    assert main(["predict", str(speakers), "--out", str(cut), "--quiet"]) == 0
    assert "resuming: 5 of 10 inputs" in capsys.readouterr().err
    assert _records(cut) == want
    # a third run finds everything done and writes nothing
    before = cut.read_text()
    assert main(["predict", str(speakers), "--out", str(cut), "--quiet"]) == 0
    assert cut.read_text() == before and "10 resumed, 0 new" in capsys.readouterr().err


def test_resume_refuses_other_settings(speakers, tmp_path, capsys):
    out = tmp_path / "p.jsonl"
    assert main(["predict", str(speakers), "--out", str(out), "--quiet", "--no-face"]) == 0
    capsys.readouterr()
    assert main(["predict", str(speakers), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "modalities" in err and f"{out} line 1" in err


def test_killed_predict_resumes_to_the_same_records(speakers, tmp_path):
    full = tmp_path / "full.jsonl"
    assert main(["predict", str(speakers), "--out", str(full), "--quiet"]) == 0
    out = tmp_path / "killed.jsonl"
    cmd = [sys.executable, "-c", "import sys; from mmemo.cli import main; sys.exit(main())",
           "predict", str(speakers), "--out", str(out), "--quiet"]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if out.is_file() and out.read_text().count("\n") >= 1:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert len(read_done(out, json.loads(full.read_text().splitlines()[0])["run"])) < 10
    assert main(["predict", str(speakers), "--out", str(out), "--quiet"]) == 0
    assert _records(out) == _records(full)


def test_two_workers_give_the_same_records_in_the_same_order(speakers, tmp_path):
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert main(["predict", str(speakers), "--out", str(one), "--quiet"]) == 0
    assert main(["predict", str(speakers), "--out", str(two), "--quiet", "--workers", "2"]) == 0
    assert [r["id"] for r in _records(two)] == [r["id"] for r in _records(one)]
    assert _rounded(_records(two)) == _rounded(_records(one))


def test_resumed_eval_normalises_a_cut_speaker_whole(speakers, tmp_path, capsys):
    """Old eval resumed a half-done speaker on the remaining clips only (other numbers)."""
    rows = [json.loads(line) for line in speakers.read_text().splitlines()]
    labelled = [dict(r, emotion="calm" if r["id"].endswith("0") else "sad") for r in rows]
    manifest = speakers.parent / "labelled.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in labelled))
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["eval", "--data", str(manifest), "--out", str(full), "--quiet"]) == 0
    lines = (full / "predictions.jsonl").read_text().splitlines()
    cut.mkdir()
    (cut / "predictions.jsonl").write_text("\n".join(lines[:4]) + "\n")  # ann x3, bob0
    capsys.readouterr()
    assert main(["eval", "--data", str(manifest), "--out", str(cut), "--quiet"]) == 0
    assert "resuming: 4 of 10 predictions" in capsys.readouterr().err
    got = [json.loads(line) for line in (cut / "predictions.jsonl").read_text().splitlines()]
    assert got == [json.loads(line) for line in lines]
    assert (
        json.loads((cut / "metrics.json").read_text())["metrics"]
        == json.loads((full / "metrics.json").read_text())["metrics"]
    )


def test_streamed_transcripts_equal_one_prediction_per_row():
    """Transcript-only rows: batched text head (sorted by token count, padded, masked)
    gives the same records as predicting each row alone, in the input order."""
    from mmemo.batch import stream
    from mmemo.predict import Predictor

    texts = ["I am so happy to see you all again!", "No.", "Get out of my house, right now!",
             "Why would you ever do that to me? I trusted you, and you lied, again and again.",
             "oh", "What?! Really? That's amazing news!", "", "I'm scared."] * 12  # fmt: skip
    items = [InputItem(f"t{i}", None, t) for i, t in enumerate(texts)]
    pred = Predictor.from_pretrained("default", modalities=("text",))
    got = [(it.id, r) for it, r in stream(pred, items, progress=False)]
    assert [i for i, _ in got] == [it.id for it in items]
    empty = [r for i, r in got if i == "t6"]
    assert isinstance(empty[0], str)  # an empty transcript is nothing to predict from
    alone = {}  # each distinct text predicted on its own, once
    for it in items[:8]:
        ((_, res),) = list(stream(pred, [it], progress=False))
        alone[it.transcript] = res
    for it, (_, res) in zip(items, got, strict=True):
        one = alone[it.transcript]
        if isinstance(res, str) or isinstance(one, str):
            assert res == one
            continue
        want = dict(_comparable(one.to_dict()), id=it.id)
        assert _rounded(_comparable(res.to_dict())) == _rounded(want)


def test_pool_workers_alone_equal_one_process(speakers):
    """Every task measured in the worker pool (the calling process does not help while the
    pool starts): the same predictions, in the same order, as one process."""
    from functools import partial

    from mmemo.batch import _measured, stream
    from mmemo.data.inputs import expand_inputs
    from mmemo.predict import Predictor

    items, errors = expand_inputs([str(speakers)])
    assert not errors and len(items) == 10
    pred = Predictor.from_pretrained("default")
    pool_only = partial(_measured, workers=2, help_while_starting=False)
    one = [(it.id, r.to_dict()) for it, r in stream(pred, items, progress=False)]
    two = [(it.id, r.to_dict()) for it, r in
           stream(pred, items, progress=False, measurer=pool_only)]  # fmt: skip
    assert [i for i, _ in two] == [i for i, _ in one]
    assert _rounded([_comparable(r) for _, r in two]) == _rounded([_comparable(r) for _, r in one])


def test_media_are_measured_with_one_blas_thread(monkeypatch):
    """BLAS runs on one thread while media are measured (a second one spin-waits on the many
    small calls of the cue code) and gets its threads back afterwards."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from mmemo.predict import Predictor

    def blas() -> list[int]:
        return [
            d["num_threads"] for d in threadpoolctl.threadpool_info() if d["user_api"] == "blas"
        ]

    before = blas()
    seen: list[list[int]] = []
    pred = Predictor.from_pretrained("default", modalities=("voice",))
    monkeypatch.setattr(pred, "_measure_media", lambda m: seen.append(blas()))
    pred.measure([InputItem("a", "a.wav"), InputItem("b", "b.wav")])
    assert len(seen) == 2 and seen[0] and all(n == 1 for s in seen for n in s)
    assert blas() == before
