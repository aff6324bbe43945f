"""Time travel over REST, as a story: Ann lives in Boston, later moves to Paris. Asked as of a
moment between the two, search, context and timeline answer Boston; asked now, Paris, with the
Boston fact marked as superseded. Facts come from the zero-LLM producers, as in tests/truth."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.server.conftest import Server

QUESTION = "Where does Ann live?"


def _says(client: httpx.Client, content: str, session: str, when: str) -> None:
    body = {"messages": [{"content": content, "name": "Ann"}], "user_id": "ann", "session_id": session}
    assert client.post("/v1/memories", json={**body, "timestamp": when}).status_code == 201


@pytest.fixture(scope="module")
def story(server: Server) -> Iterator[tuple[httpx.Client, str]]:
    """Boston, then Paris, with a whole second of system time (recorded_at is to the second) on
    each side of the moment returned."""
    with server.tenant_client() as client:
        _says(client, "I live in Boston.", "s1", "2023-01-10T10:00:00")
        time.sleep(1.1)
        between = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        time.sleep(1.1)
        _says(client, "I moved to Paris last week.", "s2", "2023-05-10T10:00:00")
        yield client, between


def _texts(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return " ".join(hit["text"] for hit in response.json()["hits"])


def test_search_as_of_before_the_move_says_boston(story: tuple[httpx.Client, str]) -> None:
    client, between = story
    then = _texts(client.post("/v1/search", json={"query": QUESTION, "user_id": "ann", "as_of": between}))
    assert "Boston" in then and "Paris" not in then
    now = client.post("/v1/search", json={"query": QUESTION, "user_id": "ann", "limit": 20})
    assert "Paris" in _texts(now)
    superseded = [h for h in now.json()["hits"] if "superseded_by" in h["explain"]]
    assert superseded and all("Boston" in h["text"] for h in superseded)
    # an offset names the same moment
    shifted = datetime.fromisoformat(between.replace("Z", "+00:00")).astimezone().isoformat()
    assert _texts(client.post("/v1/search", json={"query": QUESTION, "user_id": "ann", "as_of": shifted})) == then


def test_context_as_of(story: tuple[httpx.Client, str]) -> None:
    client, between = story
    then = client.post("/v1/context", json={"query": QUESTION, "user_id": "ann", "as_of": between})
    assert then.status_code == 200 and "Boston" in then.json()["text"] and "Paris" not in then.json()["text"]
    now = client.post("/v1/context", json={"query": QUESTION, "user_id": "ann"}).json()["text"]
    assert "Paris" in now


def test_timeline_shows_both_values_with_sources(story: tuple[httpx.Client, str]) -> None:
    client, between = story
    response = client.get("/v1/timeline", params={"subject": "Ann", "attribute": "lives_in", "user_id": "ann"})
    assert response.status_code == 200, response.text
    boston, paris = response.json()["values"]
    assert (boston["value"], paris["value"]) == ("Boston", "Paris")
    assert boston["superseded_by"] == paris["fact_id"] and not boston["current"] and paris["current"]
    assert boston["valid_to"] == paris["valid_from"] == "2023-05-10T10:00:00"
    assert boston["sources"] and paris["sources"] and boston["recorded_at"] < paris["recorded_at"]
    params = {"subject": "ann", "user_id": "ann", "as_of": between}
    then = client.get("/v1/timeline", params=params).json()["values"]
    assert [(v["value"], v["current"]) for v in then] == [("Boston", True)]
    assert client.get("/v1/timeline", params={"subject": "Ann"}).json()["values"] == []  # another user


@pytest.mark.parametrize("value", ["yesterday", "2023-13-01T00:00:00Z", "1700000000", "2023-05-01T10:00", ""])
def test_bad_as_of_is_400(story: tuple[httpx.Client, str], value: str) -> None:
    client, _ = story
    for response in (
        client.post("/v1/search", json={"query": QUESTION, "as_of": value}),
        client.post("/v1/context", json={"query": QUESTION, "as_of": value}),
        client.get("/v1/timeline", params={"subject": "Ann", "as_of": value}),
    ):
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_as_of" and "as_of" in response.json()["error"]["message"]
