"""Judged reasoning rewards: the judge interface, judges, the judge reward and PAR (§5, §6, §13).

- :class:`JudgeItem` carries what a judge sees: prompt text, think span, answer and evidence
  columns (``transcript``, ``cues``, ``aus``, ...).
- A judge is any object with ``score(items) -> list[float | None]`` returning numbers in
  [0, 1] (``None`` = failed / unparsable). Shipped judges:
  :class:`StubJudge` (fixed table, for tests), :class:`CueJudge` (deterministic, offline:
  the cue-grounding claim check of :mod:`mmemo.rewards.grounding`, the default) and
  :class:`HTTPJudge` (an OpenAI-compatible chat endpoint, temperature 0, pinned model,
  response cache keyed by ``sha256(model, rubric, item)``, bounded concurrency, retries).
- :class:`JudgeReward` scores the think span pointwise; with ``outcome=`` it applies the
  SophiaVL gate locally (judge only when the outcome score ≥ ``gate``, else 0). The
  all-correct/all-wrong group skip and the trust weight are group-aware and live in
  :class:`mmemo.rewards.shapers.TrustWeightedReasoning`.
- :class:`PreferenceAsReward` is PAR with precomputed SFT-reference scores
  (``σ(r − r_ref)``, mean over M references); the group-mean variant is
  :class:`mmemo.rewards.shapers.PARShaper`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from mmemo.encoders.contract import CueError
from mmemo.rewards.core import Reward, Score, column
from mmemo.rewards.grounding import grounding_counts, parse_claims, read_cues
from mmemo.rewards.parsing import completion_text, split_think_answer

SPEECH_RUBRIC = """You grade the REASONING of an emotion-recognition answer, not whether the \
answer is right. Score from 0.0 to 1.0 in steps of 0.1 using these criteria:
(1) cited prosodic cues match the measured pitch_level, energy_level, speed_level, \
stressed_words and intonation given as evidence;
(2) semantic cues match the transcript;
(3) the reasoning supports the final answer;
(4) speaker traits are covered;
(5) the text is fluent and not redundant.
Reply with the score only, e.g. 0.7."""

_log = logging.getLogger(__name__)
_NUMBER = re.compile(r"(?<![\d.])(?:1(?:\.0+)?|0(?:\.\d+)?|\.\d+)(?![\d.])")


@dataclass
class JudgeItem:
    """One thing to judge: reasoning text plus the evidence a rubric may need."""

    prompt: str
    think: str
    answer: str
    evidence: dict[str, Any] = field(default_factory=dict)


class StubJudge:
    """Deterministic test judge: ``table[think]`` if present, else ``default``.

    A value ``"fail"`` in the table stands for a failed call (returns ``None``).

    >>> StubJudge({"good": 0.9}, default=0.1).score([JudgeItem("", "good", ""), JudgeItem("", "x", "")])
    [0.9, 0.1]
    """

    def __init__(self, table: dict[str, Any] | None = None, default: float | None = 0.5) -> None:
        self.table, self.default = dict(table or {}), default
        self.calls = 0

    def score(self, items: Sequence[JudgeItem]) -> list[float | None]:
        self.calls += len(items)
        out = []
        for item in items:
            value = self.table.get(item.think, self.default)
            out.append(None if value == "fail" or value is None else float(value))
        return out


class CueJudge:
    """Deterministic offline judge from cue grounding (range [0, 1]).

    ``precision × min(1, n_checked / min_claims)``: precision is the share of checked claims
    that hold, where denials count at most as often as supported positive claims and claims
    on unmeasured cues count against (:mod:`mmemo.rewards.grounding`). Reasoning that claims
    nothing checkable scores 0. An item without ``cues`` evidence gives ``None``; an
    unreadable payload gives ``None`` and is kept in ``last_error`` (``n_errors`` counts
    them; the first is logged as a warning).
    """

    def __init__(self, min_claims: int = 2, au_threshold: float = 1.0) -> None:
        if min_claims < 1:
            raise ValueError(f"min_claims must be >= 1, got {min_claims}")
        self.min_claims, self.au_threshold = min_claims, au_threshold
        self.n_errors, self.last_error = 0, None

    def score(self, items: Sequence[JudgeItem]) -> list[float | None]:
        out: list[float | None] = []
        for item in items:
            raw = item.evidence.get("cues")
            if raw is None:
                out.append(None)
                continue
            try:
                cues = read_cues(raw, self.au_threshold)
            except CueError as exc:
                self.n_errors += 1
                if self.last_error is None:
                    self.last_error = str(exc)[:500]
                    _log.warning("CueJudge: unreadable cues, scoring None: %s", exc)
                out.append(None)
                continue
            counts = grounding_counts(parse_claims(item.think), cues)
            good = counts["n_supported"] + counts["n_credited"]
            checked = good + counts["n_contradicted"] + counts["n_unsupported"]
            if checked == 0:
                out.append(0.0)
                continue
            out.append(good / checked * min(1.0, checked / self.min_claims))
        return out


def parse_score(text: str) -> float | None:
    """The first number in [0, 1] in a judge reply, else ``None``.

    >>> parse_score("Score: 0.7"), parse_score("1"), parse_score("great"), parse_score("7/10")
    (0.7, 1.0, None, None)
    """
    m = _NUMBER.search(text[:2000])
    return float(m.group()) if m else None


class HTTPJudge:
    """OpenAI-compatible chat-completions judge (``POST {base_url}/chat/completions``).

    ``model`` must be pinned (no default). ``base_url`` defaults to the ``base_url_env``
    environment variable and the API key is read from ``api_key_env`` at call time (never
    stored). Requests use ``temperature=0``; each item is retried ``retries`` times with
    exponential backoff; at most ``max_concurrency`` requests run at once. Replies are
    cached by ``sha256(model, rubric, item)`` in memory and, with ``cache_path``, in a JSONL
    file that later runs reload. Any failure or unparsable reply gives ``None``.
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        rubric: str = SPEECH_RUBRIC,
        base_url_env: str = "MMEMO_JUDGE_URL",
        api_key_env: str = "MMEMO_JUDGE_API_KEY",
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_concurrency: int = 8,
        max_tokens: int = 16,
        cache_path: str | None = None,
    ) -> None:
        if not model:
            raise ValueError("HTTPJudge needs a pinned model id")
        self.model, self.base_url, self.rubric = model, base_url, rubric
        self.base_url_env, self.api_key_env = base_url_env, api_key_env
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.max_concurrency, self.max_tokens, self.cache_path = (
            max_concurrency,
            max_tokens,
            cache_path,
        )
        self._cache: dict[str, float | None] = {}
        self._lock = threading.Lock()
        self.n_requests = 0
        self._cache_loaded = False

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_lock"] = None
        state["_cache"] = {}
        state["_cache_loaded"] = False
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def key(self, item: JudgeItem) -> str:
        payload = json.dumps([self.model, self.rubric, asdict(item)], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode("utf-8", "replace")).hexdigest()

    def _load_cache(self) -> None:
        self._cache_loaded = True
        if not self.cache_path or not os.path.exists(self.cache_path):
            return
        with open(self.cache_path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                    self._cache[row["key"]] = row["score"]
                except (ValueError, KeyError, TypeError):
                    continue

    def _url(self) -> str:
        base = self.base_url or os.environ.get(self.base_url_env)
        if not base:
            raise ValueError(f"HTTPJudge: no base_url and ${self.base_url_env} is not set")
        return base.rstrip("/") + "/chat/completions"

    def _messages(self, item: JudgeItem) -> list[dict[str, str]]:
        evidence = json.dumps(item.evidence, ensure_ascii=False, default=str)[:8000]
        user = (
            f"Question:\n{item.prompt[:4000]}\n\nEvidence:\n{evidence}\n\n"
            f"Reasoning:\n{item.think[:8000]}\n\nFinal answer:\n{item.answer[:500]}"
        )
        return [{"role": "system", "content": self.rubric}, {"role": "user", "content": user}]

    def _request(self, item: JudgeItem) -> float | None:
        import urllib.request

        body = json.dumps(
            {
                "model": self.model,
                "messages": self._messages(item),
                "temperature": 0,
                "max_tokens": self.max_tokens,
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        for attempt in range(self.retries + 1):
            try:
                with self._lock:
                    self.n_requests += 1
                req = urllib.request.Request(self._url(), data=body, headers=headers)
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    reply = json.loads(resp.read().decode("utf-8", "replace"))
                return parse_score(str(reply["choices"][0]["message"]["content"]))
            except ValueError as exc:
                if "no base_url" in str(exc):
                    return None
            except Exception:  # network errors, HTTP 5xx, malformed JSON
                pass
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        return None

    def score(self, items: Sequence[JudgeItem]) -> list[float | None]:
        with self._lock:
            if not self._cache_loaded:
                self._load_cache()
        keys = [self.key(item) for item in items]
        todo = {k: item for k, item in zip(keys, items) if k not in self._cache}
        if todo:
            with ThreadPoolExecutor(max_workers=max(1, self.max_concurrency)) as pool:
                results = dict(zip(todo, pool.map(self._request, todo.values())))
            with self._lock:
                for k, value in results.items():
                    if value is None:
                        continue  # failures are not cached: a later call may succeed
                    self._cache[k] = value
                    if self.cache_path:
                        with open(self.cache_path, "a", encoding="utf-8") as fh:
                            fh.write(json.dumps({"key": k, "score": value}) + "\n")
            return [self._cache.get(k, results.get(k)) for k in keys]
        return [self._cache[k] for k in keys]


_EVIDENCE_COLUMNS = ("transcript", "cues", "aus", "prosody", "AUs")


class JudgeReward(Reward):
    """Judge score of the think span (range [0, 1]; ``None`` when the judge fails).

    With ``outcome`` (an outcome reward such as accuracy) the judge is called only for
    samples whose outcome is ≥ ``gate`` (SophiaVL: 0.2); the others get 0.0, and a ``None``
    outcome (no ground truth) gives ``None``. Components: ``judged`` (1 if the judge was
    called), ``failed``.
    """

    __name__ = "judge_reward"
    value_range = (0.0, 1.0)
    fallback = None

    def __init__(
        self,
        judge: Any = None,
        outcome: Reward | None = None,
        gate: float = 0.2,
        evidence_columns: Sequence[str] = _EVIDENCE_COLUMNS,
        style: str | Sequence[str] = "xml",
    ) -> None:
        super().__init__()
        self.judge = judge if judge is not None else CueJudge()
        self.outcome, self.gate = outcome, gate
        self.evidence_columns, self.style = tuple(evidence_columns), style

    def __call__(self, completions, *, prompts=None, **kwargs):  # type: ignore[override]
        log_metric = kwargs.pop("log_metric", None)
        for extra in ("log_extra", "environments"):
            kwargs.pop(extra, None)
        n = len(completions)
        outcome = [1.0] * n
        if self.outcome is not None:
            outcome = self.outcome(completions, prompts=prompts, **kwargs)
        items, where = [], []
        out: list[float | None] = [None] * n
        comps = [{"judged": 0, "failed": 0} for _ in range(n)]
        for i, completion in enumerate(completions):
            try:
                if outcome[i] is None:
                    continue
                if outcome[i] < self.gate:
                    out[i] = 0.0
                    continue
                think, answer, _ = split_think_answer(completion_text(completion), style=self.style)
                evidence = {c: kwargs[c][i] for c in self.evidence_columns if c in kwargs}
                prompt = completion_text(prompts[i]) if prompts is not None else ""
                items.append(JudgeItem(prompt, think, answer, evidence))
                where.append(i)
            except Exception as exc:
                self._record_error(exc, i)
        scores: list[float | None]
        try:
            scores = list(self.judge.score(items)) if items else []
        except Exception as exc:
            self._record_error(exc, -1)
            scores = [None] * len(items)
        for i, value in zip(where, scores):
            comps[i]["judged"] = 1
            if value is None or not math.isfinite(value):
                comps[i]["failed"] = 1
                continue
            out[i] = min(1.0, max(0.0, float(value)))
        self.last_components = comps
        if log_metric is not None:
            for key in ("judged", "failed"):
                log_metric(f"rewards/{self.__name__}/{key}", sum(c[key] for c in comps) / max(1, n))
        return out


def get_judge_reward(**params: Any) -> JudgeReward:
    """Factory for :class:`JudgeReward` (default judge: :class:`CueJudge`)."""
    return JudgeReward(**params)


class PreferenceAsReward(Reward):
    """PAR with SFT-reference scores: ``mean_m σ(r − r_ref,m)`` (range (0, 1)).

    ``inner`` is a judge or reward-model reward (not a 0/1 reward); ``column`` holds the
    reference score of each row (a number or a list of M numbers, precomputed from the SFT
    policy). ``None`` inner score or missing reference → ``None``.

    >>> inner = JudgeReward(judge=StubJudge(default=0.8))
    >>> PreferenceAsReward(inner)(["<think>x</think>", "<think>y</think>"], ref_score=[0.8, [0.8]])
    [0.5, 0.5]
    """

    __name__ = "par_reward"
    value_range = (0.0, 1.0)
    fallback = None

    def __init__(self, inner: Reward, column: str = "ref_score") -> None:
        super().__init__()
        self.inner, self.column = inner, column
        self._inner_values: list[float | None] = []

    def __call__(self, completions, **kwargs):  # type: ignore[override]
        inner_kwargs = {k: v for k, v in kwargs.items() if k != "log_metric"}
        self._inner_values = self.inner(completions, **inner_kwargs)
        return super().__call__(completions, **kwargs)

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        value = self._inner_values[index]
        refs = column(columns, self.column, index)
        if value is None or refs is None:
            return None
        refs = [refs] if isinstance(refs, int | float) else list(refs)
        if not refs:
            return None
        return sum(_sigmoid(float(value) - float(r)) for r in refs) / len(refs)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_inner_values"] = []
        return state


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def get_par_reward(**params: Any) -> PreferenceAsReward:
    """Factory for :class:`PreferenceAsReward`."""
    return PreferenceAsReward(**params)
