"""The /v1 endpoints against a real server: each call's result, status and body shape."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.helpers import CONVERSATION, run_cli
from tests.server.conftest import NewClient, Server, api_add


def test_health_needs_no_key(server: Server) -> None:
    response = httpx.get(f"{server.url}/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_add_get_update_history_delete(tenant_client: NewClient) -> None:
    client = tenant_client()
    ids = api_add(client, messages=CONVERSATION, user_id="u1", session_id="s1", timestamp="2023-05-08T13:56:00")
    assert len(ids) == 4
    item = client.get(f"/v1/memories/{ids[0]}").json()
    assert item["text"].startswith("I went to the LGBTQ support group")
    assert item["speaker"] == "Caroline" and item["scope"]["user_id"] == "u1"

    updated = client.patch(f"/v1/memories/{ids[0]}", json={"text": "I went to the choir yesterday."})
    assert updated.status_code == 200 and updated.json()["version"] == 2
    versions = client.get(f"/v1/memories/{ids[0]}/history").json()["versions"]
    assert [v["event"] for v in versions] == ["add", "update"]

    assert client.delete(f"/v1/memories/{ids[0]}").status_code == 204
    assert client.get(f"/v1/memories/{ids[0]}").status_code == 404
    assert client.delete(f"/v1/memories/{ids[0]}").status_code == 404
    assert [v["event"] for v in client.get(f"/v1/memories/{ids[0]}/history").json()["versions"]][-1] == "delete"


def test_search_context_profile_consolidate_stats(tenant_client: NewClient) -> None:
    client = tenant_client()
    ids = api_add(client, messages=CONVERSATION, user_id="u1", session_id="s1", timestamp="2023-05-08T13:56:00")

    hits = client.post("/v1/search", json={"query": "What did Melanie paint?", "user_id": "u1", "limit": 3})
    assert hits.status_code == 200
    top = hits.json()["hits"][0]
    # the turn, or the fact made from it (which one wins can shift with the store's global BM25 statistics)
    assert top["id"] == ids[1] or top["sources"] == [ids[1]], top
    assert "channels" in hits.json()["hits"][0]["explain"]

    lexical = client.post(
        "/v1/search",
        json={"query": "pottery", "user_id": "u1", "channels": {"bm25": 1.0}, "filters": {"level": "turn"}},
    )
    assert lexical.json()["hits"][0]["id"] == ids[3]
    filtered = client.post(
        "/v1/search", json={"query": "pottery class", "user_id": "u1", "filters": {"speaker": "Caroline"}}
    )
    assert all(h["speaker"] == "Caroline" for h in filtered.json()["hits"] if h["level"] == "turn")

    context = client.post("/v1/context", json={"query": "What did Melanie paint?", "user_id": "u1", "max_tokens": 500})
    assert context.status_code == 200
    assert "sunrise" in context.json()["text"]

    assert client.post("/v1/consolidate", json={"user_id": "u1"}).status_code == 200
    profile = client.get("/v1/profile", params={"user_id": "u1"}).json()["items"]
    assert all(item["level"] == "profile" for item in profile)
    stats = client.get("/v1/stats").json()
    assert stats["counts"]["turn"] == 4
    assert "store" not in stats  # the store URL may hold credentials


def test_list_paginates(tenant_client: NewClient) -> None:
    client = tenant_client()
    ids = api_add(client, messages=[f"note number {i}" for i in range(7)], user_id="u1")
    seen: list[str] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        page = client.get("/v1/memories", params={"user_id": "u1", "level": "turn", "limit": 3, "offset": offset})
        assert page.status_code == 200
        seen += [item["id"] for item in page.json()["items"]]
        offset = page.json()["next_offset"]
        pages += 1
    assert sorted(seen) == sorted(ids) and len(seen) == 7
    assert pages == 3


def test_missing_and_invalid_keys_get_401(server: Server, tenant_client: NewClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"X-API-Key": "msk_0123456789abcdef_" + "x" * 43}):
        response = httpx.get(f"{server.url}/v1/memories", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    # a tenant key is not an admin key
    client = tenant_client()
    assert client.post("/v1/admin/tenants", json={"name": "x"}).status_code == 401


def test_revoked_key_gets_401(server: Server, tenant_client: NewClient) -> None:
    server.admin.post("/v1/admin/tenants", json={"name": "revoking"})
    created = server.admin.post("/v1/admin/tenants/revoking/keys", json={}).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert httpx.get(f"{server.url}/v1/memories", headers=headers).status_code == 200
    listed = server.admin.get("/v1/admin/tenants/revoking/keys").json()["keys"]
    assert [k["key_id"] for k in listed] == [created["key_id"]] and "key" not in listed[0]
    assert server.admin.delete(f"/v1/admin/keys/{created['key_id']}").status_code == 204
    assert httpx.get(f"{server.url}/v1/memories", headers=headers).status_code == 401
    assert server.admin.post("/v1/admin/tenants/no-such-tenant/keys", json={}).status_code == 404


def test_other_tenants_ids_are_404(tenant_client: NewClient) -> None:
    alice, bob = tenant_client(), tenant_client()
    [secret] = api_add(alice, messages="alice's secret: the vault code is 4711")
    for response in (
        bob.get(f"/v1/memories/{secret}"),
        bob.patch(f"/v1/memories/{secret}", json={"text": "overwritten"}),
        bob.delete(f"/v1/memories/{secret}"),
        bob.get(f"/v1/memories/{secret}/history"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert "4711" not in response.text
    assert "4711" not in bob.post("/v1/search", json={"query": "vault code"}).text
    assert alice.get(f"/v1/memories/{secret}").json()["text"].endswith("4711")


def test_keys_cli_creates_a_working_key(server: Server) -> None:
    from typer.testing import CliRunner

    from outcrop.cli.app import app

    result = CliRunner().invoke(app, ["keys", "create", "--tenant", "from-cli", "--keys", str(server.keys_path)])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    response = httpx.get(f"{server.url}/v1/stats", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200 and response.json()["tenant"] == "from-cli"


def test_forget_erases_with_a_receipt(tenant_client: NewClient) -> None:
    client, other = tenant_client(), tenant_client()
    ids = api_add(client, messages=CONVERSATION, user_id="u1", session_id="s1", timestamp="2023-05-08T13:56:00")
    assert other.post("/v1/forget", json={"ids": [ids[1]], "scrub": False}).status_code == 404  # not its id

    response = client.post("/v1/forget", json={"ids": [ids[1]], "scrub": False})
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["removed"]["turn"] == [ids[1]] and receipt["verification"]["passed"] is True
    assert "sunrise" not in response.text  # a receipt lists ids, never the forgotten content
    assert client.get(f"/v1/memories/{ids[1]}").status_code == 404
    assert client.get(f"/v1/memories/{ids[1]}/history").status_code == 404  # unlike delete, no history
    assert "sunrise" not in client.post("/v1/search", json={"query": "sunrise lake", "user_id": "u1"}).text

    session = client.post("/v1/forget", json={"user_id": "u1", "session_id": "s1"})
    assert session.status_code == 200 and session.json()["scrub"]["bytes_gone"] is True
    assert client.get("/v1/memories", params={"user_id": "u1"}).json()["items"] == []
    assert client.post("/v1/forget", json={}).json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize("name", ["acme\n", "acme\nx", " acme", ""])
def test_keys_cli_refuses_a_tenant_name_the_server_cannot_serve(tmp_path: Path, name: str) -> None:
    """A name ending in a newline passed the CLI's check (``$`` matches before a final newline);
    its key then got a 500 on every request."""
    keys = tmp_path / "keys.db"
    result = run_cli("keys", "create", "--tenant", name, "--keys", str(keys), check=False)
    assert result.returncode == 2 and "tenant names are" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
