"""Chat templates for the tiny test models, shaped like the released ones.

Each template has the structure of the chat template shipped with the real checkpoint of its
family (written from the released ``chat_template`` files; whitespace and the special-token
layout are what matter to the tests): the default system prompt injected when a chat has
none, the ``<|im_start|>role\\n ... <|im_end|>\\n`` turns, the vision markers of Qwen2-VL /
Qwen2.5-VL (``<|vision_start|><|image_pad|><|vision_end|>``), the ``Audio 1: ...`` line of
Qwen2-Audio, the ``<|vision_bos|>``/``<|audio_bos|>`` markers and long system prompt of
Qwen2.5-Omni, the Llama-3 header tokens, and Gemma's ``<start_of_turn>`` turns that refuse a
system role. Tool-calling branches of the real templates are left out.
"""

from __future__ import annotations

QWEN_SYSTEM = "You are a helpful assistant."
OMNI_SYSTEM = (
    "You are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, capable of "
    "perceiving auditory and visual inputs, as well as generating text and speech."
)

_HEAD = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\n@SYSTEM@<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
)
_TAIL = (
    "{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_COUNTERS = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% set audio_count = namespace(value=0) %}"
)

_QWEN_VL_PARTS = (
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
)
_QWEN_AUDIO_PARTS = (
    "{% if content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}"
    "{% set audio_count.value = audio_count.value + 1 %}"
    "Audio {{ audio_count.value }}: <|audio_bos|><|AUDIO|><|audio_eos|>\n"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
)
_OMNI_PARTS = (
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_bos|><|IMAGE|><|vision_eos|>"
    "{% elif content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}"
    "{% set audio_count.value = audio_count.value + 1 %}"
    "{% if add_audio_id %}Audio {{ audio_count.value }}: {% endif %}"
    "<|audio_bos|><|AUDIO|><|audio_eos|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_bos|><|VIDEO|><|vision_eos|>"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
)

LLAMA = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{{ message['content'] | trim }}<|eot_id|>"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)
GEMMA = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}"
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
)


def chat_template(family: str) -> str:
    """The tiny chat template of ``family`` (see the module docstring)."""
    if family == "llama":
        return LLAMA
    if family == "gemma":
        return GEMMA
    if family == "qwen2":
        # text-only: the content is a string (mmemo collapses text parts for causal LMs)
        return (
            _HEAD + "{% if 'text' in content %}{{ content['text'] }}{% endif %}" + _TAIL
        ).replace("@SYSTEM@", QWEN_SYSTEM)
    if family == "qwen2_audio":
        return _COUNTERS + (_HEAD + _QWEN_AUDIO_PARTS + _TAIL).replace("@SYSTEM@", QWEN_SYSTEM)
    if family == "qwen2_5_omni_thinker":
        return _COUNTERS + (_HEAD + _OMNI_PARTS + _TAIL).replace("@SYSTEM@", OMNI_SYSTEM)
    return _COUNTERS + (_HEAD + _QWEN_VL_PARTS + _TAIL).replace("@SYSTEM@", QWEN_SYSTEM)
