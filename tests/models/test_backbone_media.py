"""Media the way the real Qwen processors need it: video timing, Omni audio from a video's own
track, the official Omni folder layout, pixel limits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmemo.models.backbones import Backbone, detect_family


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """A real 6 s H.264 clip with speech (10 fps), so 4 frames are 1.5 s apart."""
    from mmemo.data.samples import face_image, face_video, speech_wav

    root = tmp_path_factory.mktemp("clip6")
    img = face_image(root / "face.png", size=128)
    wav = speech_wav(root / "speech.wav", text="I did not expect to see you here today")
    return face_video(root / "clip6.mp4", img, wav, seconds=6.0, size="160x120", fps=10)


def _real_spacing(path, n):
    from mmemo import media

    return float(np.diff(media.read_frames(path, num_frames=n, max_side=224).timestamps).mean())


@pytest.mark.parametrize(
    ("family", "key"),
    [("qwen2_5_vl", "second_per_grid_ts"), ("qwen2_5_omni_thinker", "video_second_per_grid")],
)
def test_video_temporal_positions_follow_the_clip_time(tiny, long_clip, family, key):
    bb = Backbone.from_pretrained(tiny(family), inputs="media", num_frames=4)
    spacing = _real_spacing(long_clip, 4)
    assert spacing == pytest.approx(1.5, abs=0.05)
    enc = bb.encode([bb.materialize(bb.messages({"id": "c", "video": str(long_clip)}))], True)
    # each temporal patch holds 2 frames: 2 * 1.5 s = 3 s (transformers' 24 fps guess: 0.083 s)
    per_grid = enc[key].tolist()
    assert per_grid == pytest.approx([2 * spacing], rel=1e-3)
    # the same number reaches the GRPO loss forward
    feats = bb.media_features(bb.messages({"id": "c", "video": str(long_clip)}))
    assert feats[key].tolist() == pytest.approx([2 * spacing], rel=1e-3)


def test_tiny_video_processors_sample_frames_by_default_and_mmemo_overrides(tiny, long_clip):
    bb = Backbone.from_pretrained(tiny("qwen2_5_vl"), inputs="media", num_frames=6)
    assert bb.processor.video_processor.do_sample_frames is True
    enc = bb.encode([bb.materialize(bb.messages({"id": "c", "video": str(long_clip)}))], True)
    assert enc["video_grid_thw"][0, 0].item() == 3  # mmemo's 6 frames, 2 per temporal patch


def test_omni_hears_the_audio_track_of_a_video_only_row(tiny, long_clip):
    row = {"id": "mer", "video": str(long_clip)}  # the MER layout: no audio column
    bb = Backbone.from_pretrained(tiny("qwen2_5_omni_thinker"), inputs="media")
    parts = [p["type"] for p in bb.messages(row)[-1]["content"]]
    assert parts == ["video", "audio", "text"]
    feats = bb.media_features(bb.messages(row))
    assert {"pixel_values_videos", "input_features"} <= set(feats)
    # the audio features are the clip's speech, not silence
    n = int(feats["feature_attention_mask"].sum())
    assert n > 400  # > 4 s of 10 ms frames
    off = Backbone.from_pretrained(tiny("qwen2_5_omni_thinker"), audio_from_video=False)
    assert [p["type"] for p in off.messages(row)[-1]["content"]] == ["video", "text"]
    # a row with its own audio keeps it and gets no second copy
    both = bb.messages({**row, "audio": str(long_clip)})
    assert [p["type"] for p in both[-1]["content"]].count("audio") == 1


@pytest.fixture(scope="module")
def omni_official(tmp_path_factory):
    """A tiny folder in the official Qwen2.5-Omni layout: model_type qwen2_5_omni, weights
    under ``thinker.`` plus Talker weights, ``enable_audio_output: true``."""
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration

    from mmemo.models.tiny import build_model_and_processor

    out = tmp_path_factory.mktemp("omni_official")
    thinker, processor = build_model_and_processor("qwen2_5_omni_thinker")
    cfg = Qwen2_5OmniConfig(thinker_config=thinker.config.to_dict(), enable_audio_output=False)
    full = Qwen2_5OmniForConditionalGeneration(cfg)
    full.thinker.load_state_dict(thinker.state_dict())
    full.save_pretrained(out)
    processor.save_pretrained(out)
    config = json.loads((out / "config.json").read_text())
    config["enable_audio_output"] = True
    (out / "config.json").write_text(json.dumps(config))
    weights = load_file(str(out / "model.safetensors"))
    weights["talker.codec_head.weight"] = torch.zeros(4, 4)  # never loaded
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    return out, thinker.state_dict()


def test_official_omni_layout_loads_its_thinker(omni_official, manifest):
    import torch

    path, thinker_weights = omni_official
    assert json.loads((path / "config.json").read_text())["model_type"] == "qwen2_5_omni"
    assert not (path / "mmemo_backbone.json").exists()
    assert detect_family(path) == "qwen2_5_omni_thinker"
    bb = Backbone.from_pretrained(path, inputs="media")
    assert type(bb.model).__name__ == "Qwen2_5OmniThinkerForConditionalGeneration"
    loaded = bb.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in thinker_weights.items())
    row = json.loads(manifest.read_text().splitlines()[0])
    out = bb.generate([row], manifest.parent, max_new_tokens=3)
    assert len(out) == 1


def test_pixel_limits_cap_visual_tokens(tiny, manifest):
    row = json.loads(manifest.read_text().splitlines()[0])
    row = {"id": row["id"], "image": row["image"]}
    small = Backbone.from_pretrained(tiny("qwen2_5_vl"), max_pixels=56 * 56, min_pixels=28 * 28)
    big = Backbone.from_pretrained(tiny("qwen2_5_vl"), max_pixels=112 * 112)

    def tokens(bb):
        enc = bb.encode([bb.materialize(bb.messages(row, manifest.parent))], True)
        return int(enc["image_grid_thw"].prod())

    assert tokens(small) <= 56 * 56 // (14 * 14) < tokens(big)
