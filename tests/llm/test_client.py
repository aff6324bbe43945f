"""The OpenAI-compatible client against a scripted chat server on loopback (real HTTP)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest

from outcrop.config import LLMConfig
from outcrop.errors import ConfigError, LLMCircuitOpenError, LLMOutputError, LLMStatusError, LLMUnavailableError
from outcrop.llm.breaker import CircuitBreaker
from outcrop.llm.client import OpenAICompatLLM
from outcrop.llm.prompts import answer, facts
from outcrop.llm.scripted import Reply, ScriptedServer
from outcrop.llm.structured import generate
from tests.helpers import ManualClock

FACTS = '{"facts": [{"text": "Caroline lives in Boston.", "date": null, "entities": ["Caroline", "Boston"]}]}'
ASK = facts.messages("I live in Boston now.", "Caroline", None, ["Caroline", "Melanie"])


def client(server: ScriptedServer, **overrides: object) -> OpenAICompatLLM:
    values: dict[str, object] = {"base_url": server.base_url, "model": "scripted", "backoff": 0.01, "timeout": 5}
    values.update(overrides)
    return OpenAICompatLLM(LLMConfig.model_validate(values))


@pytest.fixture
def scripted(request: pytest.FixtureRequest) -> Iterator[ScriptedServer]:
    with ScriptedServer(request.param) as server:
        yield server


def test_unconfigured_client_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="base_url"):
        OpenAICompatLLM(LLMConfig())


def test_429_then_success_retries_honours_retry_after_and_records_it() -> None:
    replies = [Reply(status=429, headers={"Retry-After": "0.2"}), Reply(content=FACTS, prompt_tokens=40)]
    with ScriptedServer(replies) as server:
        llm = client(server, structured="json_schema")
        started = time.perf_counter()
        got = generate(llm, facts.PROMPT, ASK)
        assert time.perf_counter() - started >= 0.2  # waited as the server asked
    assert got.value.facts[0].text == "Caroline lives in Boston."
    assert len(server.requests) == 2
    totals = llm.ledger.totals()
    assert (totals["calls"], totals["retries"], totals["failed"], totals["prompt_tokens"]) == (1, 1, 0, 40)
    sent = server.requests[-1]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"]["required"] == ["facts"]


def test_500s_exhaust_the_retries_and_raise_a_status_error_in_the_ledger() -> None:
    with ScriptedServer([Reply(status=503)]) as server:
        llm = client(server, max_retries=2)
        with pytest.raises(LLMStatusError, match="503") as info:
            llm.chat([{"role": "user", "content": "hi"}], purpose="probe")
    assert info.value.status == 503
    assert len(server.requests) == 3  # the call and two retries
    summary = llm.ledger.summary()
    assert summary["failed"] == 1 and summary["retries"] == 2
    assert "503" in summary["errors"][0]["error"] and summary["by_purpose"]["probe"]["failed"] == 1


def test_a_400_is_not_retried() -> None:
    with ScriptedServer([Reply(status=400)]) as server, pytest.raises(LLMStatusError):
        client(server).chat([{"role": "user", "content": "hi"}])
    assert len(server.requests) == 1


def test_timeout_is_retried_then_reported_as_unavailable() -> None:
    with ScriptedServer([Reply(content="{}", delay=1.0)]) as server:
        llm = client(server, timeout=0.2, max_retries=1)
        with pytest.raises(LLMUnavailableError, match="timed out"):
            llm.chat([{"role": "user", "content": "hi"}])
    assert len(server.requests) == 2


def test_unreachable_server_is_unavailable() -> None:
    with ScriptedServer([Reply()]) as server:
        url = server.base_url
    llm = OpenAICompatLLM(LLMConfig(base_url=url, model="m", max_retries=0))
    with pytest.raises(LLMUnavailableError, match="cannot reach"):
        llm.chat([{"role": "user", "content": "hi"}])


def test_invalid_json_is_repaired_in_one_round() -> None:
    with ScriptedServer([Reply(content="Sure! Here are the facts: {facts: oops"), Reply(content=FACTS)]) as server:
        llm = client(server)
        got = generate(llm, facts.PROMPT, ASK)
    assert got.repaired and got.value.facts[0].entities == ["Caroline", "Boston"]
    repair = server.requests[1]["messages"][-1]["content"]
    assert "cannot be used" in repair and "not valid JSON" in repair
    assert llm.ledger.totals("facts@4.repair")["calls"] == 1


def test_tolerant_parser_reads_fences_trailing_commas_and_cut_off_replies() -> None:
    fenced = '```json\n{"facts": [{"text": "Melanie paints.", "entities": ["Melanie",],},],}\n```'
    cut = '{"facts": [{"text": "Melanie paints.", "entities": ["Mel'
    with ScriptedServer([Reply(content=fenced), Reply(content=cut)]) as server:
        llm = client(server)
        first = generate(llm, facts.PROMPT, ASK)
        second = generate(llm, facts.PROMPT, ASK)
    assert not first.repaired and first.value.facts[0].text == "Melanie paints."
    # the string the cut fell in is dropped, not closed: "Mel" was kept as if the model had said it
    assert not second.repaired and second.value.facts[0].entities == []


def test_schema_echo_is_rejected_after_the_repair_round_and_recorded() -> None:
    echo = json.dumps(facts.PROMPT.schema())
    with ScriptedServer([Reply(content=echo)]) as server:
        llm = client(server)
        with pytest.raises(LLMOutputError, match="repeats the JSON schema") as info:
            generate(llm, facts.PROMPT, ASK, item="t_1")
    assert len(server.requests) == 2 and info.value.raw
    summary = llm.ledger.summary()
    assert summary["rejected"] == 1 and summary["calls"] == 2
    assert summary["errors"][-1]["item"] == "t_1"


def test_empty_answer_is_rejected_clearly() -> None:
    with ScriptedServer([Reply(content="")]) as server, pytest.raises(LLMOutputError, match="empty"):
        generate(client(server), answer.PROMPT, answer.messages("Where?", "[t_1] x"))
    blank = Reply(content='{"answer": "  ", "abstain": false}')
    with ScriptedServer([blank]) as server, pytest.raises(LLMOutputError, match="answer is empty"):
        generate(client(server), answer.PROMPT, answer.messages("Where?", "[t_1] x"))


def test_auto_mode_falls_back_when_the_server_rejects_response_format() -> None:
    def handler(request: dict[str, object]) -> Reply:
        return Reply(status=400) if "response_format" in request else Reply(content=FACTS)

    with ScriptedServer(handler) as server:
        llm = client(server)
        generate(llm, facts.PROMPT, ASK)
        assert llm.structured_mode == "none"
        generate(llm, facts.PROMPT, ASK)
    kinds = [r.get("response_format", {}).get("type") for r in server.requests]  # type: ignore[attr-defined]
    assert kinds == ["json_schema", "json_object", None, None]  # remembered after the first call


def test_concurrency_limit_caps_requests_in_flight() -> None:
    in_flight = peak = 0
    lock = threading.Lock()

    def handler(request: dict[str, object]) -> Reply:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.1)
        with lock:
            in_flight -= 1
        return Reply(content="ok")

    with ScriptedServer(handler) as server:
        llm = client(server, concurrency=2)
        threads = [threading.Thread(target=llm.chat, args=([{"role": "user", "content": "hi"}],)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert peak == 2 and llm.ledger.totals()["calls"] == 6


def test_api_key_is_sent_as_a_bearer_token_and_costs_are_counted() -> None:
    seen: list[str] = []

    with ScriptedServer([Reply(content="ok", prompt_tokens=1000, completion_tokens=500)]) as server:
        llm = client(server, api_key="sk-test", price_input_per_mtok=1.0, price_output_per_mtok=2.0)
        original = llm._http.stream

        def spy(*args: object, **kwargs: object) -> object:
            seen.append(llm._http.headers["Authorization"])
            return original(*args, **kwargs)  # type: ignore[arg-type]

        llm._http.stream = spy  # type: ignore[method-assign]
        llm.chat([{"role": "user", "content": "hi"}])
    assert seen == ["Bearer sk-test"]
    assert llm.ledger.summary()["cost"] == pytest.approx(0.002)


def test_a_reply_that_trickles_in_is_abandoned_after_the_timeout() -> None:
    """A server sending a byte a second never let a read time out: add and search hung for good."""
    with ScriptedServer([Reply(body=json.dumps({"choices": []}), drip=0.3)]) as server:
        llm = client(server, timeout=1, max_retries=1)
        started = time.monotonic()
        with pytest.raises(LLMUnavailableError, match="timed out"):
            llm.chat([{"role": "user", "content": "hi"}])
    assert time.monotonic() - started < 6 and len(server.requests) == 2


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(body="[" * 200_000), LLMOutputError),  # nested past the parser's depth (a RecursionError)
        (Reply(body='{"choices": [], "usage": "n/a"}'), LLMOutputError),  # usage not an object
        (Reply(body="not gzip", headers={"Content-Encoding": "gzip"}), LLMOutputError),  # httpx's DecodingError
    ],
)
def test_a_malformed_reply_is_our_error(reply: Reply, error: type[Exception]) -> None:
    with ScriptedServer([reply]) as server, pytest.raises(error):
        client(server).chat([{"role": "user", "content": "hi"}])


def test_content_nested_too_deep_or_with_a_lone_surrogate_is_repaired_then_refused() -> None:
    """The model's text goes back in the repair request: a lone surrogate in it raised
    UnicodeEncodeError; content nested past the parser's depth raised RecursionError."""
    replies = [Reply(content='{"facts": ' + "[" * 5000), Reply(content="Sorry \ud800, no JSON here")]
    with ScriptedServer(replies) as server:
        llm = client(server)
        with pytest.raises(LLMOutputError, match="also after one repair round"):
            generate(llm, facts.PROMPT, ASK)
        with pytest.raises(LLMOutputError):
            generate(llm, facts.PROMPT, ASK)
    assert "\\ud800" in json.dumps(server.requests[-1]) or len(server.requests) == 4


def test_a_models_strings_are_bounded_and_printable_as_a_callers_are() -> None:
    """A fact's text with NUL and an escape sequence was stored as the model wrote it, and a value
    of a million characters became a profile line (a caller's text is refused for either)."""
    from outcrop.llm.structured import ReplyProblem, read_reply

    dirty = {"facts": [{"text": "Caroline lives in Bos\u0000ton\u001b[31m.", "entities": ["Bo\u0000ston"]}]}
    [fact] = read_reply(facts.PROMPT, json.dumps(dirty)).facts
    assert fact.text == "Caroline lives in Bos ton [31m." and fact.entities == ["Bo ston"]
    huge = {
        "facts": [
            {"text": "Caroline lives in Boston.", "subject": "Caroline", "attribute": "lives_in", "value": "x" * 1000}
        ]
    }
    with pytest.raises(ReplyProblem, match="value"):
        read_reply(facts.PROMPT, json.dumps(huge))


def _breaker_on_a_manual_clock(llm: OpenAICompatLLM, cooldown: float) -> ManualClock:
    """``llm``'s breaker with ``cooldown``, timed by a clock the test moves: no race with a slow machine."""
    clock = ManualClock()
    llm.breaker = CircuitBreaker(cooldown, clock=clock)
    return clock


def test_a_dead_server_opens_the_breaker_then_a_probe_closes_it() -> None:
    """After a call spends its retries on a 503, the next calls fail at once without a request;
    once the cool-down is over one probe goes, and its success lets every call through again."""
    replies = [Reply(status=503), Reply(status=503), Reply(content="back")]
    with ScriptedServer(replies) as server:
        llm = client(server, max_retries=1)
        clock = _breaker_on_a_manual_clock(llm, 0.3)
        ask = [{"role": "user", "content": "hi"}]
        with pytest.raises(LLMStatusError):
            llm.chat(ask)
        assert len(server.requests) == 2
        for _ in range(5):
            clock.advance(0.05)
            with pytest.raises(LLMCircuitOpenError, match=r"failing at once.*HTTP 503"):
                llm.chat(ask)
        assert len(server.requests) == 2  # none was sent
        assert llm.breaker_state.state == "open" and llm.breaker_state.refused == 5
        clock.advance(0.1)
        assert llm.chat(ask).text == "back"  # the probe
        assert llm.chat(ask).text == "back" and len(server.requests) == 4
    state = llm.breaker_state
    assert (state.state, state.opened, state.refused) == ("closed", 1, 5)
    summary = llm.ledger.summary()
    assert (summary["calls"], summary["failed"]) == (8, 6)  # the refusals are in the ledger


def test_a_failed_probe_opens_the_breaker_for_longer() -> None:
    with ScriptedServer([Reply(status=503)]) as server:
        llm = client(server, max_retries=0)
        clock = _breaker_on_a_manual_clock(llm, 0.2)
        ask = [{"role": "user", "content": "hi"}]
        with pytest.raises(LLMStatusError):
            llm.chat(ask)
        clock.advance(0.25)
        with pytest.raises(LLMStatusError):  # the probe, sent and failed
            llm.chat(ask)
        assert len(server.requests) == 2
        assert llm.breaker_state.retry_in == pytest.approx(0.4)  # doubled
        clock.advance(0.39)
        with pytest.raises(LLMCircuitOpenError):
            llm.chat(ask)
        assert len(server.requests) == 2


def test_a_refused_request_or_a_bad_reply_does_not_open_the_breaker() -> None:
    with ScriptedServer([Reply(status=400), Reply(status=401), Reply(content="ok")]) as server:
        llm = client(server, breaker_cooldown=30)
        ask = [{"role": "user", "content": "hi"}]
        for _ in range(2):
            with pytest.raises(LLMStatusError):
                llm.chat(ask)
        assert llm.chat(ask).text == "ok"
    assert llm.breaker_state.state == "closed" and llm.breaker_state.opened == 0


def test_breaker_off_tries_the_server_every_call() -> None:
    with ScriptedServer([Reply(status=503)]) as server:
        llm = client(server, max_retries=0, breaker_cooldown=0)
        for _ in range(3):
            with pytest.raises(LLMStatusError):
                llm.chat([{"role": "user", "content": "hi"}])
    assert len(server.requests) == 3 and llm.breaker_state.state == "closed"


def test_while_a_probe_is_under_way_other_calls_fail_at_once() -> None:
    replies = [Reply(status=503), Reply(content="slow", delay=2.0)]  # long enough for a slow machine's next call
    with ScriptedServer(replies) as server:
        llm = client(server, max_retries=0, breaker_cooldown=0.1)
        ask = [{"role": "user", "content": "hi"}]
        with pytest.raises(LLMStatusError):
            llm.chat(ask)
        time.sleep(0.15)
        answers: list[str] = []
        probe = threading.Thread(target=lambda: answers.append(llm.chat(ask).text))
        probe.start()
        deadline = time.monotonic() + 5
        while len(server.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(LLMCircuitOpenError, match="probe call is under way"):
            llm.chat(ask)
        probe.join(10)
    assert answers == ["slow"] and len(server.requests) == 2 and llm.breaker_state.state == "closed"


def test_a_500_or_a_rate_limit_on_one_request_does_not_open_the_breaker() -> None:
    with ScriptedServer([Reply(status=500), Reply(status=429), Reply(content="ok")]) as server:
        llm = client(server, max_retries=0, breaker_cooldown=30)
        ask = [{"role": "user", "content": "hi"}]
        for _ in range(2):
            with pytest.raises(LLMStatusError):
                llm.chat(ask)
        assert llm.chat(ask).text == "ok"
    assert llm.breaker_state.opened == 0
