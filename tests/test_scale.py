"""``mmemo predict --engine ray`` (Ray Data) writes the same records as the local path."""

from __future__ import annotations

import json

import pytest

from mmemo.cli import main
from tests.test_batch import _records, _rounded

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]  # fmt: skip


@pytest.fixture()
def ray_local():
    ray = pytest.importorskip("ray", reason="needs the ray extra: pip install 'mmemo[ray]'")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.data
def test_ray_path_predicts_the_same_records_as_the_local_path(
    shared_data, tmp_path, ray_local, monkeypatch
):
    files = []
    for actor in ("Actor_01", "Actor_02"):
        files += sorted((shared_data / "ravdess" / actor).glob("03-01-0[3-5]-*.flac"))[:10]
    rows = [{"id": f.stem + f.parent.name[-2:], "audio": str(f), "speaker": f.parent.name}
            for f in files]  # fmt: skip
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    local, ray_out = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    base = ["predict", str(manifest), "--quiet", "--allow-outside"]
    assert main([*base, "--out", str(local)]) == 0
    made = []
    from_items = ray_local.data.from_items
    monkeypatch.setattr(
        ray_local.data, "from_items", lambda rows: made.append(rows) or from_items(rows)
    )
    assert main([*base, "--out", str(ray_out), "--engine", "ray"]) == 0
    assert len(made) == 1 and len(made[0]) == 20  # one Ray Data row per file
    want, got = _records(local), _records(ray_out)
    assert len(want) == 20 and [r["id"] for r in got] == [r["id"] for r in want]
    assert all("speaker-normalised" in r["modalities"]["voice"]["detail"] for r in got)
    assert _rounded(got, 6) == _rounded(want, 6)
    # the Ray path resumes like the local one: nothing left to do
    assert main([*base, "--out", str(ray_out), "--engine", "ray"]) == 0
    assert len(_records(ray_out)) == 20


def test_engine_ray_without_ray_is_a_clear_usage_error(monkeypatch, tmp_path, capsys):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    (tmp_path / "a.txt").write_text("x")
    assert main(["predict", str(tmp_path / "a.txt"), "--engine", "ray", "--quiet"]) == 2
    assert "pip install 'mmemo[ray]'" in capsys.readouterr().err
