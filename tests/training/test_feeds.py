"""``mmemo train`` says, before each stage, what each modality feeds the model."""

from __future__ import annotations

import json
import re

from mmemo.models.backbones import Backbone
from mmemo.training.feeds import describe_feeds


def test_feeds_of_video_only_omni_rows_show_frames_times_audio_and_cues(tiny, manifest):
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    base = manifest.parent
    video_only = [
        {"id": r["id"], "video": str(base / r["video"]), "cues": r["cues"], "emotion": r["emotion"]}
        for r in rows
    ]
    bb = Backbone.from_pretrained(tiny("qwen2_5_omni_thinker"), inputs="both", num_frames=4)
    text = describe_feeds(bb, video_only)
    head = text.splitlines()[0]
    assert "video in 4/4 rows" in head and "audio in 4/4 rows" in head
    assert "cue text in 4/4 rows" in head
    m = re.search(r"video: 4 frames \d+x\d+ at t = ([\d., ]+) s \(spacing ([\d.]+) s", text)
    assert m, text
    times = [float(t) for t in m.group(1).split(",")]
    assert len(times) == 4 and times == sorted(times) and float(m.group(2)) > 0.1
    assert re.search(r"audio: 1\.\d\d s at 16000 Hz", text)  # the clip's own track
    assert "text: Measured cues: Face: AU" in text and "prompt:" in text


def test_train_config_exists_before_the_model_loads(tiny, manifest, tmp_path, monkeypatch):
    """ZeRO-3 init needs the TRL config (its DeepSpeed weakref) before from_pretrained."""
    import pytest

    from mmemo.config import load_config
    from mmemo.resources import recipes_dir
    from mmemo.training import grpo, pipeline, sft

    order = []
    for mod, name in ((sft, "sft_config"), (grpo, "grpo_config")):
        real = getattr(mod, name)
        monkeypatch.setattr(
            mod, name, lambda *a, _r=real, **k: order.append("config") or _r(*a, **k)
        )

    class Stop(Exception):
        pass

    def load(*a, **k):
        order.append("model")
        raise Stop

    monkeypatch.setattr(pipeline, "load_backbone", load)
    cfg = load_config(
        recipes_dir() / "cue_text.yaml",
        [f"model.path={tiny('qwen2')}", f"data.train={manifest}", f"output_dir={tmp_path}"],
    )
    for stage in ("sft", "grpo"):
        order.clear()
        with pytest.raises(Stop):
            pipeline.run_stage(stage, cfg, None)
        assert order == ["config", "model"]
