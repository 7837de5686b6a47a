"""``grpo.use_vllm=true``: the call mmemo makes into TRL's vLLM generation carries the images,
and audio/video prompts are refused with an error naming what vLLM would drop (TRL 1.16's
vLLM path takes token ids plus images only). vLLM itself is not installed here: the trainer
is built without it and a recording stand-in replaces ``vllm_generation``."""

from __future__ import annotations

import json

import pytest

from mmemo.models.backbones import Backbone
from mmemo.rewards.outcome import get_format_reward
from mmemo.training.common import read_rows
from mmemo.training.grpo import GRPOStage, check_vllm, grpo_config

ARGS = {
    "max_steps": 1,
    "num_generations": 2,
    "per_device_train_batch_size": 2,
    "max_completion_length": 4,
    "save_strategy": "no",
}


class RecordingVLLM:
    """Stands in for TRL's VLLMGeneration: records the generate call, returns 2 tokens."""

    def __init__(self):
        self.calls = []

    def sync_weights(self):
        pass

    def generate(self, prompts, images, num_generations, profiler=None):
        self.calls.append({"prompts": prompts, "images": images, "n": num_generations})
        ids = [[5, 6] for _ in prompts]
        return None, ids, [[[0.0]] * 2 for _ in prompts], None


def _trainer(tiny, manifest, tmp_path, keep):
    bb = Backbone.from_pretrained(tiny("qwen2_5_vl"), inputs="media")
    rows = [{k: v for k, v in r.items() if k not in keep} for r in read_rows(manifest)]
    # never trained: a reward is required to build the trainer, no value is read
    stage = GRPOStage(bb, rows, tmp_path, rewards=[(get_format_reward(), 1.0)], args=ARGS)
    stage.setup()
    trainer = stage.trainer
    trainer.use_vllm = True  # as if built with vLLM
    trainer.vllm_generation = RecordingVLLM()
    trainer._last_loaded_step = -1
    return bb, rows, trainer


def test_vllm_generation_receives_the_images(tiny, manifest, tmp_path):
    bb, rows, trainer = _trainer(tiny, manifest, tmp_path, keep=("video", "audio"))
    prompts = [bb.materialize(bb.messages(r)) for r in rows[:2]]
    prompt_ids, images, fields = trainer._tokenize_prompts(prompts)
    trainer._generate_single_turn(prompt_ids, images, fields, 1)
    (call,) = trainer.vllm_generation.calls
    assert call["prompts"] == prompt_ids
    assert [len(x) for x in call["images"]] == [1, 1]
    assert all(
        type(im).__name__.endswith("ImageFile") or hasattr(im, "size")
        for x in call["images"]
        for im in x
    )
    image_pad = bb.model.config.image_token_id
    assert all(image_pad in ids for ids in prompt_ids)


@pytest.mark.parametrize("kind", ["video", "audio"])
def test_vllm_refuses_media_it_cannot_see(tiny, manifest, tmp_path, kind):
    bb, rows, trainer = _trainer(tiny, manifest, tmp_path, keep=("image", "audio"))
    prompts = [bb.materialize(bb.messages(r)) for r in rows[:2]]
    with pytest.raises(ValueError, match="use_vllm=true cannot generate from video"):
        trainer._tokenize_prompts(prompts)
    assert trainer.vllm_generation.calls == []
    # and up front, before any trainer is built (audio for an audio family)
    family = "qwen2_audio" if kind == "audio" else "qwen2_5_vl"
    bb2 = Backbone.from_pretrained(tiny(family), inputs="media")
    examples = [{"prompt": bb2.messages(r)} for r in read_rows(manifest)]
    config = grpo_config({**ARGS, "use_vllm": False}, tmp_path, [1.0])
    config.use_vllm = True
    with pytest.raises(ValueError, match=f"cannot generate from {kind}.*{family}"):
        check_vllm(config, bb2, examples)


def test_text_backbone_with_vllm_passes(tiny, manifest, tmp_path):
    bb = Backbone.from_pretrained(tiny("qwen2"), inputs="cues")
    examples = [{"prompt": bb.messages(json.loads(x))} for x in manifest.read_text().splitlines()]
    config = grpo_config(ARGS, tmp_path, [1.0])
    config.use_vllm = True
    check_vllm(config, bb, examples)  # no error: nothing to drop
