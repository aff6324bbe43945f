"""ONE client for every OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM,
llama.cpp's server, LM Studio): ``POST {base_url}/chat/completions``.

Structured output, per server capability (``LLMConfig.structured``):

==============  ==========================================================================
mode            request
==============  ==========================================================================
``json_schema`` ``response_format={"type": "json_schema", "json_schema": {...}}`` (OpenAI, vLLM, Ollama)
``json_object`` ``response_format={"type": "json_object", "schema": {...}}`` (llama.cpp: grammar)
``none``        no ``response_format``; the prompt asks for JSON, the tolerant parser reads it
``auto``        the first of these the server accepts (a 400/422 moves to the next, remembered)
==============  ==========================================================================

429, 5xx, timeouts and connection errors are retried with exponential backoff (``Retry-After``
honoured, capped); at most ``concurrency`` requests are in flight at once. A request whose reply
has not arrived whole ``timeout`` seconds after it was sent is abandoned (and retried), however
slowly the server keeps sending. A call that finds the server unreachable after its retries opens
a circuit breaker (``breaker_cooldown``, :mod:`outcrop.llm.breaker`): the calls after it fail at
once until a probe call gets through. Every failure is one of outcrop's ``LLMError`` types.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx

from outcrop.config import LLMConfig
from outcrop.core.text import estimate_tokens
from outcrop.errors import ConfigError, LLMCircuitOpenError, LLMOutputError, LLMStatusError, LLMUnavailableError
from outcrop.llm.base import Completion, Message
from outcrop.llm.breaker import BreakerState, CircuitBreaker
from outcrop.llm.ledger import Ledger, LedgerEntry

__all__ = ["OpenAICompatLLM"]

_MODES = ("json_schema", "json_object", "none")
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
_MAX_RETRY_AFTER = 30.0
_DOWN_STATUS = {502, 503, 504}  # a gateway or server saying it is down, not that this request failed


class OpenAICompatLLM:
    """Chat completions over HTTP. Thread-safe; one instance per configuration."""

    def __init__(self, config: LLMConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        if not config.configured:
            raise ConfigError("LLM not configured: set llm.base_url and llm.model (OUTCROP_LLM_BASE_URL/_MODEL)")
        assert config.base_url is not None and config.model is not None
        self.config = config
        self.model: str = config.model
        self.ledger = Ledger()
        headers = {"Content-Type": "application/json"}
        if config.api_key is not None:
            headers["Authorization"] = f"Bearer {config.api_key.get_secret_value()}"
        self._http = httpx.Client(
            base_url=config.base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(config.timeout, connect=min(10.0, config.timeout)),
            transport=transport,
        )
        self._slots = threading.BoundedSemaphore(config.concurrency)
        self._mode_lock = threading.Lock()
        self._mode: str | None = None if config.structured == "auto" else config.structured
        self.breaker = CircuitBreaker(config.breaker_cooldown)

    def __repr__(self) -> str:
        return f"OpenAICompatLLM({self.config.base_url!r}, model={self.model!r})"

    def close(self) -> None:
        self._http.close()

    @property
    def breaker_state(self) -> BreakerState:
        return self.breaker.state()

    @property
    def structured_mode(self) -> str:
        """The way JSON is requested from this server (``auto`` until the first structured call)."""
        return self._mode or "auto"

    def chat(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        purpose: str = "chat",
        item: str | None = None,
    ) -> Completion:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "temperature": self.config.temperature,
            "max_tokens": max_tokens or self.config.max_tokens,
        }
        if self.config.seed is not None:
            body["seed"] = self.config.seed
        started = time.perf_counter()
        retries = [0]  # retries spent over every attempt of this call (kept when one raises)
        probe = False
        try:
            probe = self.breaker.admit(str(self.config.base_url))
            with self._slots:
                modes = self._candidate_modes() if schema is not None else ["none"]
                for index, mode in enumerate(modes):
                    request = {**body, **_response_format(mode, schema, purpose)}
                    try:
                        data = self._post(request, retries)
                    except LLMStatusError as exc:
                        if exc.status in (400, 422) and mode != "none" and index + 1 < len(modes):
                            continue  # the server does not take this response_format: try the next
                        raise
                    self.breaker.succeeded(probe)
                    if schema is not None and self.config.structured == "auto":
                        with self._mode_lock:
                            self._mode = mode
                    completion = self._completion(data, request, mode, started)
                    self.ledger.record(
                        LedgerEntry(
                            purpose=purpose,
                            model=self.model,
                            prompt_tokens=completion.prompt_tokens,
                            completion_tokens=completion.completion_tokens,
                            cost=self._cost(completion.prompt_tokens, completion.completion_tokens),
                            latency_ms=completion.latency_ms,
                            retries=retries[0],
                            item=item,
                        )
                    )
                    return completion
                raise AssertionError("unreachable")  # pragma: no cover
        except (LLMStatusError, LLMUnavailableError, LLMOutputError) as exc:
            if isinstance(exc, LLMCircuitOpenError):
                pass  # not sent
            elif _unreachable(exc):
                self.breaker.failed(probe, f"{type(exc).__name__}: {exc}")
            else:
                self.breaker.released(probe)
            self.ledger.record(
                LedgerEntry(
                    purpose=purpose,
                    model=self.model,
                    latency_ms=(time.perf_counter() - started) * 1000,
                    retries=retries[0],
                    ok=False,
                    error=f"{type(exc).__name__}: {exc}",
                    item=item,
                )
            )
            raise
        except BaseException:
            self.breaker.released(probe)
            raise

    def _candidate_modes(self) -> list[str]:
        with self._mode_lock:
            mode = self._mode
        return [mode] if mode else list(_MODES)

    def _post(self, request: dict[str, Any], retries: list[int]) -> dict[str, Any]:
        """POST with retries (counted in ``retries[0]``); returns the decoded body."""
        attempt = 0
        while True:
            delay = self.config.backoff * (2**attempt)
            try:
                response, body = self._send(request)
            except (httpx.TimeoutException, _Overdue) as exc:
                problem: Exception = LLMUnavailableError(
                    f"LLM at {self.config.base_url} timed out after {self.config.timeout:g}s ({type(exc).__name__})"
                )
            except httpx.DecodingError as exc:  # a body its Content-Encoding does not describe
                raise LLMOutputError(f"LLM server sent a body that cannot be decoded: {exc}") from None
            except httpx.HTTPError as exc:  # transport errors and the rest of httpx's
                problem = LLMUnavailableError(f"cannot reach LLM at {self.config.base_url}: {exc}")
            else:
                if response.status_code < 400:
                    return _decoded(body, response.status_code)
                problem = LLMStatusError(
                    f"LLM server answered HTTP {response.status_code}: {_error_text(response, body)}",
                    response.status_code,
                )
                if response.status_code not in _RETRY_STATUS:
                    raise problem
                delay = max(delay, _retry_after(response))
            if attempt >= self.config.max_retries:
                raise problem
            attempt += 1
            retries[0] += 1
            time.sleep(min(delay, _MAX_RETRY_AFTER))

    def _send(self, request: dict[str, Any]) -> tuple[httpx.Response, bytes]:
        """One POST, its body read whole within ``timeout`` seconds of the request: ``timeout``
        bounds each read too, but a server that sends a byte now and then (a proxy's keep-alive, a
        stuck stream) never lets a read time out. The request is sent as ASCII JSON, so a lone
        surrogate in a model's reply sent back for repair is an escape, not an encoding error."""
        deadline = time.monotonic() + self.config.timeout
        content = json.dumps(request, ensure_ascii=True).encode("ascii")
        with self._http.stream("POST", "/chat/completions", content=content) as response:
            chunks: list[bytes] = []
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise _Overdue
            return response, b"".join(chunks)

    def _completion(self, data: dict[str, Any], request: dict[str, Any], mode: str, started: float) -> Completion:
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise LLMOutputError("LLM server reply has no choices[0].message", raw=str(data)[:500]) from None
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        prompt_tokens = usage.get("prompt_tokens")
        completion_tokens = usage.get("completion_tokens")
        if not isinstance(prompt_tokens, int):
            prompt_tokens = sum(estimate_tokens(m["content"]) for m in request["messages"])
        if not isinstance(completion_tokens, int):
            completion_tokens = estimate_tokens(text)
        return Completion(
            text=str(text),
            model=str(data.get("model") or self.model),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=(time.perf_counter() - started) * 1000,
            structured=mode,
            finish_reason=choice.get("finish_reason") if isinstance(choice, dict) else None,
        )

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.config.price_input_per_mtok + completion_tokens * self.config.price_output_per_mtok
        ) / 1e6


def _response_format(mode: str, schema: dict[str, Any] | None, name: str) -> dict[str, Any]:
    if schema is None or mode == "none":
        return {}
    if mode == "json_schema":
        safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)[:64] or "reply"
        return {"response_format": {"type": "json_schema", "json_schema": {"name": safe, "schema": schema}}}
    return {"response_format": {"type": "json_object", "schema": schema}}


def _unreachable(exc: Exception) -> bool:
    """A failure that says the server is down (after the retries), not that it refused or failed
    this request (a 400, a 429 rate limit, a 500 on one input) or sent a useless reply."""
    if isinstance(exc, LLMStatusError):
        return exc.status in _DOWN_STATUS
    return isinstance(exc, LLMUnavailableError)


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0


class _Overdue(Exception):
    """The response was still arriving ``timeout`` seconds after the request."""


def _decoded(body: bytes, status: int) -> dict[str, Any]:
    """A 2xx body as the JSON object it must be; :class:`LLMOutputError` otherwise."""
    raw = body[:500].decode("utf-8", "replace")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the parser's depth
        raise LLMOutputError(f"LLM server sent a non-JSON body (HTTP {status})", raw=raw) from None
    if not isinstance(data, dict):
        raise LLMOutputError("LLM server reply is not a JSON object", raw=raw)
    return data


def _error_text(response: httpx.Response, body: bytes) -> str:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return body[:300].decode("utf-8", "replace") or response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data))
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:300]
    return str(data)[:300]
