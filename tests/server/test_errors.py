"""Error shapes: every error is {"error": {"code", "message"}} with the right status; body limit;
Idempotency-Key on add."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.server.conftest import MAX_BODY

NewClient = Callable[..., httpx.Client]


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    message: str = body["error"]["message"]
    assert message
    return message


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/v1/memories", {"messages": ""}, 422, "validation_error"),
        ("POST", "/v1/memories", {"messages": "x", "bogus": 1}, 422, "validation_error"),
        ("POST", "/v1/memories", {"messages": "x", "timestamp": "not a date"}, 422, "validation_error"),
        ("POST", "/v1/memories", {"messages": "x", "timestamp": 1e300}, 422, "validation_error"),
        ("POST", "/v1/memories", {"messages": "x", "user_id": " "}, 422, "validation_error"),
        ("POST", "/v1/memories", {"messages": [{"content": "x", "role": ""}]}, 422, "validation_error"),
        ("POST", "/v1/search", {"query": "x", "limit": 0}, 422, "validation_error"),
        ("POST", "/v1/search", {"query": "x", "filters": {"nope": 1}}, 422, "validation_error"),
        ("POST", "/v1/context", {"query": "x", "max_tokens": 3}, 422, "validation_error"),
        ("GET", "/v1/memories?limit=0", None, 422, "validation_error"),
        ("GET", "/v1/memories?user_id=a&user_id=b", None, 422, "validation_error"),
        ("GET", "/v1/memories?user=bob", None, 422, "validation_error"),  # user_id misspelt: not every user
        ("GET", "/v1/memories?user_id=%ff", None, 422, "validation_error"),  # not UTF-8: not U+FFFD
        ("GET", "/v1/memories/t_%ff", None, 422, "validation_error"),
        ("POST", "/v1/search?limt=5", {"query": "x"}, 422, "validation_error"),
        ("GET", "/v1/memories/t_nope", None, 404, "not_found"),
        ("GET", "/v1/nothing-here", None, 404, "not_found"),
        ("PUT", "/v1/search", {}, 405, "method_not_allowed"),
    ],
)
def test_error_shapes(tenant_client: NewClient, method: str, path: str, body: object, status: int, code: str) -> None:
    with tenant_client() as client:
        _error(client.request(method, path, json=body), status, code)


@pytest.mark.parametrize(
    ("path", "body", "said"),
    [
        ("memories", {"messages": 5}, "messages: Input should be a valid string, dictionary or list"),
        ("memories", {"messages": [5]}, "messages.0: Input should be a valid string or dictionary"),
        (
            "memories",
            {"messages": [{"role": "user", "content": 3}]},
            "messages.0.content: Input should be a valid string",
        ),
        ("memories", {"messages": ""}, "messages: String should have at least 1 character"),
        ("memories", {"messages": "x", "timestamp": "soon"}, "timestamp: cannot parse timestamp 'soon'"),
        ("memories", {"messages": [{"content": "x", "Role": "user"}]}, "messages.0.Role: Extra inputs are not"),
        ("search", {"Query": "x"}, "query: Field required; Query: Extra inputs are not permitted"),
        ("search", {"query": "x", "channels": {"Dense": 500}}, "channels.Dense: Input should be less than"),
        ("search", {"query": "x", "filters": {"level": "nope"}}, "filters.level: Input should be 'turn', 'fact'"),
        ("search", {"query": "x", "filters": "abc"}, "filters: Input should be a valid dictionary"),
    ],
)
def test_a_validation_error_names_the_request_s_fields_not_pydantic_s_types(
    tenant_client: NewClient, path: str, body: object, said: str
) -> None:
    """It read "messages.function-after[_no_surrogates(), constrained-str]: Input should be a valid
    string; messages.Message: Input should be a valid dictionary or instance of Message; ...": the
    schema's internals, each member of a union that failed, and the list as well as its item; the
    client's own names (an extra field "Query", a channel "Dense") stay as it wrote them."""
    message = _error(tenant_client().post(f"/v1/{path}", json=body), 422, "validation_error")
    assert message.startswith(said), message
    internals = ("function-after", "Message", "list[", "Value error", "object to extract", "instance of")
    assert not any(internal in message for internal in internals)


def test_body_that_is_not_json(tenant_client: NewClient) -> None:
    client = tenant_client()
    response = client.post("/v1/memories", content=b"{not json", headers={"Content-Type": "application/json"})
    _error(response, 422, "validation_error")
    message = _error(client.post("/v1/search", content=b"query=x"), 422, "validation_error")
    assert "JSON object" in message


def test_a_body_naming_a_key_twice_is_refused_and_nothing_written(tenant_client: NewClient) -> None:
    """``{"user_id": "a", "user_id": "b"}`` was read as its last value: a write or a search in a
    scope the sender may not have meant (a repeated query parameter is refused the same way)."""
    client = tenant_client()
    json_body = {"Content-Type": "application/json"}
    sent = b'{"messages": "I moved to Oslo.", "user_id": "dup-a", "user_id": "dup-b"}'
    message = _error(client.post("/v1/memories", content=sent, headers=json_body), 422, "validation_error")
    assert "'user_id' appears twice" in message
    nested = b'{"query": "Oslo", "filters": {"speaker": "a", "speaker": "b"}}'
    _error(client.post("/v1/search", content=nested, headers=json_body), 422, "validation_error")
    for user in ("dup-a", "dup-b"):
        assert client.get("/v1/memories", params={"user_id": user}).json()["items"] == []
    once = b'{"messages": "I moved to Oslo.", "user_id": "dup-a"}'
    assert client.post("/v1/memories", content=once, headers=json_body).status_code == 201


def test_body_over_the_limit_is_413(tenant_client: NewClient) -> None:
    client = tenant_client()
    big = {"messages": "x" * (MAX_BODY + 1)}
    _error(client.post("/v1/memories", json=big), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        for _ in range(MAX_BODY // 1024 + 2):
            yield b" " * 1024

    _error(client.post("/v1/search", content=chunks()), 413, "payload_too_large")
    assert client.get("/v1/memories").status_code == 200
    assert client.get("/v1/memories", params={"level": "turn"}).json()["items"] == []


def test_idempotency_key_replays_without_writing(tenant_client: NewClient) -> None:
    client = tenant_client()
    body = {"messages": "remember the milk", "user_id": "u1", "timestamp": "2024-01-01"}
    first = client.post("/v1/memories", json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201
    again = client.post("/v1/memories", json=dict(reversed(body.items())), headers={"Idempotency-Key": "k1"})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    log_count = client.get("/v1/stats").json()["counts"]["log"]

    other = {**body, "messages": "remember the eggs"}
    _error(client.post("/v1/memories", json=other, headers={"Idempotency-Key": "k1"}), 409, "idempotency_conflict")
    assert client.get("/v1/stats").json()["counts"]["log"] == log_count

    # keys are per tenant: another tenant's k1 is a new request
    second_tenant = tenant_client()
    fresh = second_tenant.post("/v1/memories", json=other, headers={"Idempotency-Key": "k1"})
    assert fresh.status_code == 201 and fresh.json() != first.json()
