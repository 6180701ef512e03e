"The OpenAI-compatible backend against a local server started by the test: retries, give-ups, timeouts, bad bodies, cache."
import threading, time
import pytest
from timepref.prompts import ANSWER_TASK, MCQ_TASK, TEMPORAL_QA_TASK, ParseError, parse_mcq, qa_rules
from timepref.fake_server import FakeChatServer
from timepref.llm import LLMError, OpenAILLM, RulesLLM, make_llm

CAPS = ["A red circle grows on a navy background.", "A cyan cross appears on a gray background.",
        "A white ring shrinks on a pink background.", "A green square moves up on a black background."]
MSG = [{"role": "user", "content": "hello"}]


def client(srv, tmp_path, **kw):
    return OpenAILLM("test-model", base_url=srv.base_url, cache=tmp_path / "cache.sqlite", backoff=0.01, **kw)


def test_rate_limit_then_success(tmp_path):
    calls = []
    def reply(messages):
        calls.append(1)
        return 429 if len(calls) == 1 else "fine"
    with FakeChatServer(reply) as srv:
        llm = client(srv, tmp_path)
        assert llm.complete(MSG) == "fine"
    assert srv.requests == 2 and llm.stats == {"requests": 1, "retry: RateLimitError": 1}


def test_server_error_gives_up_after_retries(tmp_path):
    with FakeChatServer(lambda m: 500) as srv:
        llm = client(srv, tmp_path, max_retries=2)
        with pytest.raises(LLMError, match="gave up after 3 attempts"):
            llm.complete(MSG)
    assert srv.requests == 3 and llm.stats["retry: InternalServerError"] == 3


def test_timeout_is_retried(tmp_path):
    calls = []
    def reply(messages):
        calls.append(1)
        return ("sleep", 1.5) if len(calls) == 1 else "on time"
    with FakeChatServer(reply) as srv:
        llm = client(srv, tmp_path, timeout=0.5)
        assert llm.complete(MSG) == "on time"
    assert llm.stats["retry: APITimeoutError"] == 1


def test_malformed_body_is_retried_then_fails(tmp_path):
    with FakeChatServer(lambda m: ("raw", "this is not json")) as srv:
        llm = client(srv, tmp_path, max_retries=1)
        with pytest.raises(LLMError):
            llm.complete(MSG)
    assert sum(v for k, v in llm.stats.items() if k.startswith("retry")) == 2


def test_malformed_reply_text_is_a_counted_parse_error(tmp_path):
    with FakeChatServer(lambda m: "Sure! Here you go.") as srv:
        llm = client(srv, tmp_path)
        with pytest.raises(ParseError):
            llm.run(TEMPORAL_QA_TASK, captions=CAPS)
    assert llm.stats["parse: no Q/A pairs"] == 1


def test_cache_hit_on_rerun(tmp_path):
    with FakeChatServer(lambda m: qa_rules(CAPS)) as srv:
        first = client(srv, tmp_path).run(TEMPORAL_QA_TASK, captions=CAPS)
        rerun = client(srv, tmp_path)                       # a new process would open the same file
        assert rerun.run(TEMPORAL_QA_TASK, captions=CAPS) == first
        other = rerun.complete(MSG, temperature=0.7)        # different parameters: not a hit
    assert srv.requests == 2 and rerun.stats == {"cache hits": 1, "requests": 1} and other == qa_rules(CAPS)


def test_concurrency_is_bounded_and_order_kept(tmp_path):
    live, peak, lock = [0], [0], threading.Lock()
    def reply(messages):
        with lock: live[0] += 1; peak[0] = max(peak[0], live[0])
        time.sleep(0.05)
        with lock: live[0] -= 1
        return messages[-1]["content"].upper()
    with FakeChatServer(reply) as srv:
        llm = client(srv, tmp_path, max_concurrency=3)
        out = llm.complete_many([[{"role": "user", "content": f"m{i}"}] for i in range(12)])
    assert out == [f"M{i}" for i in range(12)] and 1 < peak[0] <= 3


def test_key_only_from_environment(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        OpenAILLM("gpt-4o-mini")
    with pytest.raises(ValueError, match="unknown LLM backend"):
        make_llm("claude")


def test_rules_backend_is_deterministic_and_answers_from_the_order_given():
    a, b = RulesLLM(), RulesLLM()
    assert a.run(TEMPORAL_QA_TASK, captions=CAPS) == b.run(TEMPORAL_QA_TASK, captions=CAPS)
    for q, ans in a.run(TEMPORAL_QA_TASK, captions=CAPS):
        assert a.run(ANSWER_TASK, captions=CAPS, question=q) == ans
    mcq = a.run(MCQ_TASK, captions=CAPS)
    assert len(mcq) == 3 and all(sorted(o) == sorted(CAPS) for _, o, _ in mcq)   # 4 scenes: the options are all of them
    assert parse_mcq("Q1: x?\nA. a\nB. b\nC. c\nD. d\nAnswer: (C)") == [("x?", ["a", "b", "c", "d"], 2)]


def test_refused_request_is_not_retried(tmp_path):
    "A 400 (context too long, content filter) is this request's fault: one try, then an `LLMError` the pipeline counts."
    with FakeChatServer(lambda m: 400) as srv:
        llm = client(srv, tmp_path, max_retries=3)
        with pytest.raises(LLMError, match="refused"): llm.complete(MSG)
    assert srv.requests == 1 and llm.stats == {"requests": 1, "refused": 1}


def test_batch_job_survives_a_killed_wait(tmp_path):
    "A run that stops while its batch runs records the job; the next run waits on that job instead of sending another."
    from timepref.records import digest
    from timepref.fake_server import rules_chat
    with FakeChatServer(rules_chat(), batch_polls=1000) as srv:
        first = client(srv, tmp_path)
        first.deferred = {}
        with pytest.raises(ParseError): first.run(TEMPORAL_QA_TASK, captions=CAPS)
        queued, first.deferred = first.deferred, None
        with pytest.raises(LLMError, match="still in_progress"): first.run_batch(queued, poll=0.01, timeout=0.05)
        assert first.cache.batches() == ["batch-0"]
        srv.batch_polls = 0                                        # the job ends meanwhile
        again = client(srv, tmp_path)
        assert again.run_batch(queued, poll=0.01) == 1
        assert len(srv.batches) == 1 and srv.requests == 0           # no second job, nothing sent one by one
        assert again.run(TEMPORAL_QA_TASK, captions=CAPS) == RulesLLM().run(TEMPORAL_QA_TASK, captions=CAPS)


def test_batch_is_split_within_limits(tmp_path):
    from timepref.fake_server import rules_chat
    with FakeChatServer(rules_chat()) as srv:
        llm = client(srv, tmp_path)
        llm.deferred = {}
        for k in range(5):
            with pytest.raises(ParseError): llm.run(ANSWER_TASK, captions=CAPS, question=f"What happens right after {k}?")
        queued, llm.deferred = llm.deferred, None
        assert llm.run_batch(queued, poll=0.01, max_requests=2) == 5 and len(srv.batches) == 3


def test_retry_after_is_honoured_then_backoff(tmp_path):
    "A 429 with `Retry-After: 1`, then a 500, then the reply: the first wait is the server's, the second the backoff."
    times, script = [], [(429, {"Retry-After": "1"}), 500, "third time lucky"]
    def reply(messages):
        times.append(time.monotonic()); return script[len(times) - 1]
    with FakeChatServer(reply) as srv:
        llm = client(srv, tmp_path, max_retries=2)
        assert llm.complete(MSG) == "third time lucky"
    waits = [b - a for a, b in zip(times, times[1:])]
    assert srv.requests == 3 and 1.0 <= waits[0] < 2.5 and waits[1] < 0.5, waits
    assert llm.stats == {"requests": 1, "retry: RateLimitError": 1, "retry: InternalServerError": 1}


def test_retry_after_longer_than_max_wait_fails_at_once(tmp_path):
    with FakeChatServer(lambda m: (503, {"Retry-After": "3600"})) as srv:
        llm = client(srv, tmp_path, max_retries=3)
        t0 = time.monotonic()
        with pytest.raises(LLMError, match="asking to wait 3600 s") as e: llm.complete(MSG)
    assert srv.requests == 1 and time.monotonic() - t0 < 5
    assert e.value.reason == "the server answered 503, asking to wait 3600 s"


def test_html_page_with_200_is_a_failed_request(tmp_path):
    "A proxy's HTML page (HTTP 200, text/html): retried, then an `LLMError` with a one-line reason, and nothing cached."
    from timepref.llm import RequestRefused
    page = ("raw", "<html><body>502 Bad Gateway</body></html>", "text/html; charset=utf-8")
    with FakeChatServer(lambda m: page) as srv:
        llm = client(srv, tmp_path, max_retries=1)
        with pytest.raises(LLMError) as e: llm.run(TEMPORAL_QA_TASK, captions=CAPS)
    assert e.value.reason == "the server answered 200 with text/html, not JSON" and "\n" not in str(e.value)
    assert not isinstance(e.value, RequestRefused) and srv.requests == 2
    assert llm.stats == {"requests": 1, "retry: BadBodyError": 2, "failed requests": 1}
    with FakeChatServer(lambda m: qa_rules(CAPS)) as srv:          # the server back: the request is sent again
        assert client(srv, tmp_path).run(TEMPORAL_QA_TASK, captions=CAPS) and srv.requests == 1


def test_wrong_api_key_is_one_clear_error(tmp_path):
    from timepref.llm import LLMAccessError
    with FakeChatServer(lambda m: 401) as srv:
        llm = client(srv, tmp_path, max_retries=3)
        with pytest.raises(LLMAccessError) as e: llm.complete(MSG)
    assert str(e.value) == "the LLM server refused the API key (401): set a valid key in OPENAI_API_KEY"
    assert srv.requests == 1


def test_empty_reply_is_a_counted_parse_error(tmp_path):
    "A completion whose content is null is a bad reply (counted, the item done), not an outage."
    with FakeChatServer(lambda m: None) as srv:
        llm = client(srv, tmp_path)
        with pytest.raises(ParseError, match="empty reply"): llm.run(TEMPORAL_QA_TASK, captions=CAPS)
    assert llm.stats == {"requests": 1, "parse: empty reply": 1}


def test_timeout_and_retries_reach_the_client(tmp_path):
    with FakeChatServer(lambda m: ("sleep", 1.0)) as srv:
        llm = client(srv, tmp_path, timeout=0.2, max_retries=1)
        with pytest.raises(LLMError, match="gave up after 2 attempts: no answer within 0.2 s"): llm.complete(MSG)
    assert llm.client.timeout == 0.2 and srv.requests == 2
    with pytest.raises(ValueError, match="max_retries >= 0"): client(srv, tmp_path, max_retries=-1)
