"""Completion parsing shared by every reward.

All parsing here is ``str.find``-based (no regular expressions with nested quantifiers), so
it runs in time linear in the completion length whatever the model wrote: unclosed tags,
``"<think>" * 10000`` and megabyte-long strings are all handled without backtracking.

- :func:`completion_text` turns a TRL completion (a string, or a chat list of messages) into
  the text of the last assistant message.
- :func:`split_think_answer` returns the first think span, the last answer span and whether
  the whole text has the ``<think>…</think>\\s*<answer>…</answer>`` layout (rewards.md §1).
- Tag styles: ``"xml"`` (``<think>…</think>``) and ``"kardia"``
  (``<|think_begin|>…<|think_end|>``), or any ``(open_format, close_format)`` pair such as
  ``("<{}>", "</{}>")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TAG_STYLES: dict[str, tuple[str, str]] = {
    "xml": ("<{}>", "</{}>"),
    "kardia": ("<|{}_begin|>", "<|{}_end|>"),
}


def tag_pair(name: str, style: str | Sequence[str] = "xml") -> tuple[str, str]:
    """Return the literal ``(open, close)`` tags for ``name`` in the given style.

    >>> tag_pair("think")
    ('<think>', '</think>')
    >>> tag_pair("answer", "kardia")
    ('<|answer_begin|>', '<|answer_end|>')
    """
    if isinstance(style, str):
        if style not in TAG_STYLES:
            raise ValueError(f"unknown tag style {style!r}; use one of {sorted(TAG_STYLES)}")
        fmt_open, fmt_close = TAG_STYLES[style]
    else:
        fmt_open, fmt_close = style
    return fmt_open.format(name), fmt_close.format(name)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and part.get("type", "text") == "text":
                text = part.get("text")
                if isinstance(text, str):
                    parts.append(text)
        return "".join(parts)
    return ""


def completion_text(completion: Any) -> str:
    """Text of one completion: the string itself, or the last assistant message of a chat.

    Chat content may be a string or a list of parts (``{"type": "text", "text": ...}``;
    non-text parts are ignored, text parts are joined with no separator). A chat without an
    assistant message falls back to its last message. Anything else gives ``""``.

    >>> completion_text("<answer>sad</answer>")
    '<answer>sad</answer>'
    >>> completion_text([{"role": "assistant", "content": [{"type": "text", "text": "hi"}]}])
    'hi'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return _content_text(completion.get("content"))
    if isinstance(completion, list | tuple) and completion:
        messages = [m for m in completion if isinstance(m, dict)]
        for message in reversed(messages):
            if message.get("role") == "assistant":
                return _content_text(message.get("content"))
        if messages:
            return _content_text(messages[-1].get("content"))
    return ""


def first_span(text: str, open_tag: str, close_tag: str) -> str | None:
    """Contents of the first ``open…close`` span, or ``None`` if there is none."""
    start = text.find(open_tag)
    if start < 0:
        return None
    start += len(open_tag)
    end = text.find(close_tag, start)
    if end < 0:
        return None
    return text[start:end]


def last_span(text: str, open_tag: str, close_tag: str) -> str | None:
    """Contents of the last ``open…close`` span, or ``None`` if there is none."""
    end = text.rfind(close_tag)
    if end < 0:
        return None
    start = text.rfind(open_tag, 0, end)
    if start < 0:
        return None
    return text[start + len(open_tag) : end]


def _skip_space(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos].isspace():
        pos += 1
    return pos


def layout_ok(
    text: str,
    mode: str = "fullmatch",
    style: str | Sequence[str] = "xml",
    tags: tuple[str, str] = ("think", "answer"),
) -> bool:
    r"""Whether ``text`` has the think-then-answer layout, with the references' regex semantics.

    ``mode="fullmatch"`` is ``re.fullmatch(r"<think>.*?</think>\s*<answer>.*?</answer>",
    text, re.DOTALL)``; ``"prefix"`` is the same pattern with ``re.match`` (only the start is
    anchored); ``"answer_only"`` is ``re.fullmatch(r"<answer>.*?</answer>", text, re.DOTALL)``.
    Implemented with ``str.find`` in linear time; no stripping is done here.

    >>> layout_ok("<think>x</think>\n<answer>y</answer>")
    True
    >>> layout_ok("<think>x</think><answer>y</answer> trailing")
    False
    >>> layout_ok("<think>x</think><answer>y</answer> trailing", mode="prefix")
    True
    """
    t_open, t_close = tag_pair(tags[0], style)
    a_open, a_close = tag_pair(tags[1], style)
    if mode == "answer_only":
        return (
            len(text) >= len(a_open) + len(a_close)
            and text.startswith(a_open)
            and text.endswith(a_close)
        )
    if mode not in ("fullmatch", "prefix"):
        raise ValueError(f"unknown layout mode {mode!r}; use fullmatch, prefix or answer_only")
    if not text.startswith(t_open):
        return False
    full = mode == "fullmatch"
    if full and not text.endswith(a_close):
        return False
    limit = len(text) - len(a_close)
    # The lazy `.*?` may end at any `</think>`: the layout holds if one of them is followed by
    # optional whitespace and `<answer>`, with a `</answer>` ending the text (fullmatch) or
    # anywhere after it (prefix). Each whitespace run is skipped at most once: linear time.
    pos = text.find(t_close, len(t_open))
    while pos >= 0:
        a_pos = _skip_space(text, pos + len(t_close))
        if text.startswith(a_open, a_pos):
            body = a_pos + len(a_open)
            if full and body <= limit:
                return True
            if not full:
                return text.find(a_close, body) >= 0
        pos = text.find(t_close, pos + 1)
    return False


def split_think_answer(
    text: str, tags: tuple[str, str] = ("think", "answer"), style: str | Sequence[str] = "xml"
) -> tuple[str, str, bool]:
    """Split a completion into ``(think, answer, well_formed)``.

    ``think`` is the first think span, ``answer`` the last answer span (``""`` when missing);
    ``well_formed`` is the fullmatch layout check on the whitespace-stripped text.

    >>> split_think_answer("<think>smiling, AU12</think> <answer>happy</answer>")
    ('smiling, AU12', 'happy', True)
    >>> split_think_answer("<answer>a</answer><answer>b</answer>")
    ('', 'b', False)
    """
    think = first_span(text, *tag_pair(tags[0], style))
    answer = last_span(text, *tag_pair(tags[1], style))
    well_formed = False
    if think is not None and answer is not None:
        well_formed = layout_ok(text.strip(), "fullmatch", style, tags)
    return think or "", answer or "", well_formed


def answer_span(text: str, style: str | Sequence[str] = "xml") -> str:
    """The last answer span (``""`` if none): ``split_think_answer(text)[1]`` without the rest.

    >>> answer_span("<think>t</think><answer>a</answer>")
    'a'
    """
    return last_span(text, *tag_pair("answer", style)) or ""


def think_span(text: str, style: str | Sequence[str] = "xml") -> str:
    """The first think span (``""`` if none): ``split_think_answer(text)[0]`` without the rest."""
    return first_span(text, *tag_pair("think", style)) or ""


def strip_answer_tags(solution: Any, style: str | Sequence[str] = "xml") -> str:
    """Ground truth text: the last ``<answer>`` span of ``solution`` if any, else the string.

    >>> strip_answer_tags("<answer> sad </answer>")
    'sad'
    """
    if solution is None:
        return ""
    text = solution if isinstance(solution, str) else str(solution)
    inner = last_span(text, *tag_pair("answer", style))
    return (inner if inner is not None else text).strip()
