import json
import pickle
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mmemo.rewards.outcome import AccuracyReward
from mmemo.rewards.reasoning import (
    CueJudge,
    HTTPJudge,
    JudgeItem,
    JudgeReward,
    PreferenceAsReward,
    StubJudge,
    parse_score,
)
from tests.rewards.helpers import CUES


def test_parse_score():
    assert parse_score("0.8") == 0.8
    assert parse_score("Score: 1.0 because") == 1.0
    assert parse_score("I'd say .5") == 0.5
    assert parse_score("7 out of 10") is None
    assert parse_score("1.5") is None
    assert parse_score("") is None


def test_cue_judge():
    judge = CueJudge(min_claims=2)
    items = [
        JudgeItem("q", "cheeks raised, AU12, loud voice", "happy", {"cues": CUES}),
        JudgeItem("q", "AU12 only", "happy", {"cues": CUES}),
        JudgeItem("q", "she is happy", "happy", {"cues": CUES}),
        JudgeItem("q", "AU12", "happy", {}),
    ]
    assert judge.score(items) == [pytest.approx(2 / 3), 0.5, 0.0, None]


def test_judge_reward_gate_and_failures():
    acc = AccuracyReward(column="label", normalise=False)
    judge = StubJudge({"good": 0.9, "bad": "fail"}, default=0.3)
    r = JudgeReward(judge=judge, outcome=acc, gate=0.2)
    texts = [
        "<think>good</think><answer>a</answer>",
        "<think>good</think><answer>b</answer>",  # wrong: gated, judge not called
        "<think>bad</think><answer>a</answer>",  # judge failure
        "<think>other</think><answer>a</answer>",
        "<think>good</think><answer>a</answer>",  # no ground truth
    ]
    out = r(texts, label=["a", "a", "a", "a", ""])
    assert out == [0.9, 0.0, None, 0.3, None]
    assert judge.calls == 3
    assert [c["failed"] for c in r.last_components] == [0, 0, 1, 0, 0]


def test_judge_reward_passes_evidence_and_prompt():
    seen = []

    class Spy(StubJudge):
        def score(self, items):
            seen.extend(items)
            return super().score(items)

    r = JudgeReward(judge=Spy())
    r(
        ["<think>t</think><answer>a</answer>"],
        prompts=[[{"role": "user", "content": "why?"}]],
        transcript=["hello"],
        cues=[CUES],
    )
    assert seen[0].prompt == "why?" and seen[0].think == "t" and seen[0].answer == "a"
    assert seen[0].evidence == {"transcript": "hello", "cues": CUES}


def test_par_with_sft_reference():
    inner = JudgeReward(judge=StubJudge(default=0.8))
    r = PreferenceAsReward(inner, column="ref_score")
    out = r(["<think>x</think>"] * 3, ref_score=[0.8, [0.8, 1.8], None])
    assert out[0] == pytest.approx(0.5)
    assert out[1] == pytest.approx((0.5 + 1 / (1 + 2.718281828459045)) / 2)
    assert out[2] is None


class _Handler(BaseHTTPRequestHandler):
    replies: list = []
    requests: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append((self.path, body, self.headers.get("Authorization")))
        status, text = type(self).replies.pop(0) if type(self).replies else (200, "0.6")
        payload = json.dumps({"choices": [{"message": {"content": text}}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def judge_server():
    _Handler.replies, _Handler.requests = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", _Handler
    server.shutdown()


def test_http_judge_request_cache_and_retries(judge_server, tmp_path, monkeypatch):
    url, handler = judge_server
    monkeypatch.setenv("MMEMO_JUDGE_API_KEY", "k123")
    cache = tmp_path / "judge.jsonl"
    judge = HTTPJudge(
        model="pinned-model", base_url=url, retries=2, backoff=0.0, cache_path=str(cache)
    )
    handler.replies = [(500, "x"), (200, "Score: 0.7"), (200, "no idea")]
    items = [JudgeItem("q", "t1", "a", {"transcript": "hi"}), JudgeItem("q", "t2", "a")]
    first = judge.score(items)
    assert sorted(first, key=str) == sorted([0.7, None], key=str)
    path, body, auth = handler.requests[0]
    assert path == "/v1/chat/completions" and auth == "Bearer k123"
    assert body["temperature"] == 0 and body["model"] == "pinned-model"
    assert len(handler.requests) == 3  # one retry after the 500
    # cached success is not requested again; the unparsable one is retried (default reply 0.6)
    again = judge.score(items)
    assert len(handler.requests) == 4
    assert set(again) == {0.7, 0.6}
    clone = pickle.loads(pickle.dumps(judge))  # reloads the on-disk cache, no requests
    assert clone.score(items) == again and len(handler.requests) == 4
    reward = pickle.loads(pickle.dumps(JudgeReward(judge=judge)))
    out = reward(["<think>t1</think><answer>a</answer>"], prompts=["q"], transcript=["hi"])
    assert out == again[:1]  # served from the reloaded cache
    assert len(handler.requests) == 4


def test_http_judge_unreachable_gives_none():
    judge = HTTPJudge(model="m", base_url="http://127.0.0.1:9", retries=1, backoff=0.0, timeout=0.5)
    assert judge.score([JudgeItem("q", "t", "a")]) == [None]
    with pytest.raises(ValueError, match="pinned model"):
        HTTPJudge(model="")
