"""``GET /v1/export`` and ``POST /v1/import`` against the real server: a tenant's memory copied
into another tenant and restored under ids re-minted the same way each time, re-imports that add
nothing, files naming other tenants that land in the caller's own, ids that never tell whether
another tenant holds them, and bad files refused whole."""

from __future__ import annotations

import json
from typing import Any

import httpx

from outcrop.core.ids import remint
from tests.helpers import CONVERSATION
from tests.server.conftest import MAX_BODY, NewClient, Server, api_add


def _export(client: httpx.Client, **params: Any) -> str:
    response = client.get("/v1/export", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return response.text


def _import(client: httpx.Client, text: str, status: int = 200) -> dict[str, Any]:
    response = client.post("/v1/import", content=text.encode("utf-8"), headers={"Content-Type": "application/x-ndjson"})
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line]


def _log_count(client: httpx.Client) -> int:
    count: int = client.get("/v1/stats").json()["counts"].get("log", 0)
    return count


def _tenant(client: httpx.Client) -> str:
    name: str = client.get("/v1/stats").json()["tenant"]
    return name


def _reminted(text: str, tenant: str) -> str:
    """An export as a REST import into ``tenant`` writes it: every log and turn id re-minted."""
    out = []
    for line in _lines(text):
        if line.get("type") == "log":
            for key in ("id", "turn_id"):
                if line[key]:
                    line[key] = remint(tenant, line[key])
            if "item_id" in line["payload"]:
                line["payload"]["item_id"] = remint(tenant, line["payload"]["item_id"])
        out.append(json.dumps(line, ensure_ascii=False, sort_keys=True))
    return "\n".join(out)


def _normal(text: str) -> str:
    return "\n".join(json.dumps(line, ensure_ascii=False, sort_keys=True) for line in _lines(text))


def test_copy_into_another_tenant_then_restore_under_the_same_ids_again(tenant_client: NewClient) -> None:
    source, copy = tenant_client(), tenant_client()
    turns = api_add(source, messages=CONVERSATION, user_id="u1", session_id="s1", timestamp="2023-05-08T13:56:00")
    api_add(source, messages=[{"content": "I keep bees on the roof.", "name": "Ben"}], user_id="u2", session_id="s9")
    assert source.patch(f"/v1/memories/{turns[0]}", json={"text": "I went to the choir yesterday."}).status_code == 200
    assert source.delete(f"/v1/memories/{turns[2]}").status_code == 204
    original = _export(source)
    header, *records = _lines(original)
    assert header["tenant"] == _tenant(source) and len(records) == 7  # 5 messages, an update, a delete

    report = _import(copy, original)
    assert (report["records"], report["added"], report["skipped"], report["reminted"]) == (7, 7, 0, True)
    assert report["turns"] == 4 and report["written"]["fact"] >= 1

    copied = _export(copy)
    copy_header, *copy_records = _lines(copied)
    assert copy_header == {**header, "tenant": _tenant(copy)}
    # the same records in the same order, every id re-minted: nothing of the source tenant's ids
    ids = {r["id"]: c["id"] for r, c in zip(records, copy_records, strict=True)}
    ids |= {r["turn_id"]: c["turn_id"] for r, c in zip(records, copy_records, strict=True) if r["turn_id"]}
    assert not set(ids) & set(ids.values())
    for r, c in zip(records, copy_records, strict=True):
        payload = {**r["payload"], **({"item_id": ids[r["payload"]["item_id"]]} if "item_id" in r["payload"] else {})}
        assert c == {**r, "id": ids[r["id"]], "turn_id": ids.get(r["turn_id"]), "payload": payload}
    assert not any(i.partition("_")[2] in copied for i in ids)
    hits = copy.post("/v1/search", json={"query": "painted sunrise lake", "user_id": "u1"}).json()["hits"]
    assert any("sunrise" in h["text"] for h in hits) and not {h["id"] for h in hits} & set(turns)
    assert _export(source) == original  # the source tenant is untouched

    # importing either file again adds nothing, and the copy exports the same bytes
    assert _import(copy, original)["added"] == 0
    again = {**report, "added": 0, "skipped": 7, "turns": 0, "written": {}, "reminted": False}
    assert _import(copy, copied) == again
    assert _export(copy) == copied
    with_items = _export(copy, projections=True)
    assert len(_lines(with_items)) > len(copy_records) + 1

    # a restore: erase the copy's users for good, import its own export: the same records, their
    # ids re-minted (a REST import keeps none: keeping only those no other tenant holds would tell
    # which ones another tenant does), the same way each time
    for user in ("u1", "u2"):
        assert copy.post("/v1/forget", json={"user_id": user, "scrub": False}).status_code == 200
    assert _lines(_export(copy)) == [copy_header]
    restored = _import(copy, copied)
    assert (restored["added"], restored["reminted"]) == (7, True)
    assert _normal(_export(copy)) == _reminted(copied, _tenant(copy))
    assert len(_lines(_export(copy, projections=True))) == len(_lines(with_items))


def test_file_naming_another_tenant_lands_in_the_callers(tenant_client: NewClient) -> None:
    victim, caller = tenant_client(), tenant_client()
    api_add(victim, messages="victim's own note about the garden", user_id="vu")
    before = _export(victim)
    header = {"format": "outcrop", "version": 1, "tenant": _tenant(victim), "user_id": "vu", "projections": False}
    record = {
        "type": "log",
        "id": "l_0000000000crafted1",
        "user_id": "vu",
        "agent_id": None,
        "session_id": "s1",
        "kind": "message",
        "payload": {"content": "zqplanted secret in the garden", "role": "user", "speaker": "Eve", "metadata": {}},
        "content_hash": "crafted-1",
        "recorded_at": "2024-01-01T00:00:00",
        "turn_id": "t_0000000000crafted1",
    }
    text = "\n".join(json.dumps(line) for line in (header, record)) + "\n"
    report = _import(caller, text)
    assert (report["added"], report["reminted"]) == (1, True)
    assert _export(victim) == before
    assert "zqplanted" not in victim.post("/v1/search", json={"query": "zqplanted secret garden", "user_id": "vu"}).text
    found = caller.get("/v1/memories", params={"user_id": "vu", "level": "turn"}).json()["items"]
    assert [item["text"] for item in found] == [record["payload"]["content"]]  # type: ignore[index]
    assert found[0]["scope"]["tenant"] == _tenant(caller) and found[0]["id"] != record["turn_id"]


def test_bad_files_are_refused_whole(server: Server, tenant_client: NewClient) -> None:
    client = tenant_client()
    api_add(client, messages=CONVERSATION, user_id="u1", session_id="s1", timestamp="2023-05-08T13:56:00")
    good = _export(client)
    other = tenant_client()
    logs = _log_count(other)

    def refused(text: str | bytes, fragment: str, status: int = 400) -> None:
        body = text if isinstance(text, bytes) else text.encode("utf-8")
        response = other.post("/v1/import", content=body)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert set(error) == {"code", "message"} and fragment in error["message"], error
        assert _log_count(other) == logs  # nothing written

    lines = good.splitlines()
    refused("\n".join([*lines[:3], "{oops", *lines[3:]]), "line 4: not JSON")
    broken = json.loads(lines[2])
    broken["payload"]["timestamp"] = "not a date"
    refused("\n".join([*lines[:2], json.dumps(broken), *lines[3:]]), "line 3:")
    broken["payload"] = {**broken["payload"], "timestamp": None, "content": "a\u0000b"}
    refused("\n".join([*lines[:2], json.dumps(broken), *lines[3:]]), "line 3: text contains a NUL")
    refused(lines[0] + "\n" + "[" * 50_000 + "\n", "line 2: JSON nested too deeply")
    update = {**json.loads(lines[1]), "id": "l_x", "kind": "update", "content_hash": "u-1", "turn_id": None}
    update["payload"] = {"item_id": "t_nowhere", "text": "changed"}
    refused("\n".join([*lines, json.dumps(update)]), f"line {len(lines) + 1}: update of turn")
    duplicate = {**json.loads(lines[1]), "content_hash": "another"}
    refused("\n".join([*lines, json.dumps(duplicate)]), "appears twice")
    refused("", "line 1: empty file")
    refused('{"format": "other"}\n', "line 1: not an outcrop export")
    refused(b"\xff" + good.encode("utf-8"), "not UTF-8")
    refused(lines[0] + "\n" + '{"type": "log", "x": "\\ud800"}\n', "line 2: text must be valid Unicode")
    refused(good + "\n" + " " * MAX_BODY, "over the limit", status=413)
    assert _import(other, good)["added"] == 4  # the same file, whole, goes in


def test_export_is_per_user_and_only_ever_the_keys_tenant(server: Server, tenant_client: NewClient) -> None:
    alice, bob = tenant_client(), tenant_client()
    api_add(alice, messages="alice one", user_id="u1")
    api_add(alice, messages="alice two", user_id="u2")
    api_add(bob, messages="bob's private note", user_id="u1")
    one = _lines(_export(alice, user_id="u1"))
    assert one[0]["user_id"] == "u1" and [r["payload"]["content"] for r in one[1:]] == ["alice one"]
    assert "bob" not in _export(alice) and "alice" not in _export(bob)
    assert alice.get("/v1/export", params={"tenant": _tenant(bob)}).text.count("bob") == 0
    assert httpx.get(f"{server.url}/v1/export").status_code == 401


def test_an_import_does_not_tell_whether_another_tenant_holds_an_id(tenant_client: NewClient) -> None:
    """On SQLite ids are unique store-wide: a file naming the caller's own tenant whose ids another
    tenant holds used to be refused 409 (and accepted otherwise), then to get its ids re-minted while
    a free id was kept: each an oracle for other tenants' ids. Every id is now re-minted, so the
    answers and the ids written are alike, whoever holds the ids given."""
    holder, caller, control = tenant_client(), tenant_client(), tenant_client()
    [held_turn] = api_add(holder, messages="the holder's own note about the garden", user_id="hu", session_id="s1")
    [held] = [line for line in _lines(_export(holder)) if line.get("type") == "log"]
    before = _export(holder)

    def crafted(tenant: str, log_id: str, turn_id: str) -> str:
        header = {"format": "outcrop", "version": 1, "tenant": tenant, "user_id": None, "projections": False}
        base = {
            "type": "log",
            "user_id": "cu",
            "agent_id": None,
            "session_id": "s1",
            "recorded_at": "2024-01-01T00:00:00",
        }
        message = {
            **base,
            "id": log_id,
            "kind": "message",
            "payload": {"content": "my note about the lake", "role": "user", "speaker": "Cy", "metadata": {}},
            "content_hash": "crafted-message",
            "turn_id": turn_id,
        }
        edit = {
            **base,
            "id": log_id[:-1] + ("x" if log_id[-1] != "x" else "y"),  # another id, always
            "kind": "update",
            "payload": {"item_id": turn_id, "text": "my note about the lake, edited"},
            "content_hash": "crafted-update",
            "turn_id": None,
        }
        return "\n".join(json.dumps(line) for line in (header, message, edit)) + "\n"

    taken = _import(caller, crafted(_tenant(caller), held["id"], held_turn))  # ids the holder has
    free = _import(control, crafted(_tenant(control), "l_0000000000free0001", "t_0000000000free0001"))
    assert taken == free and (taken["added"], taken["reminted"]) == (2, True)
    [turn] = caller.get("/v1/memories", params={"user_id": "cu", "level": "turn"}).json()["items"]
    assert turn["text"] == "my note about the lake, edited" and turn["id"] == remint(_tenant(caller), held_turn)
    [kept] = control.get("/v1/memories", params={"user_id": "cu", "level": "turn"}).json()["items"]
    assert kept["id"] == remint(_tenant(control), "t_0000000000free0001")  # a free id is re-minted too
    assert _export(holder) == before  # the holder's memory is untouched
    assert holder.get(f"/v1/memories/{held_turn}").json()["text"] == "the holder's own note about the garden"
    assert _import(caller, crafted(_tenant(caller), held["id"], held_turn))["added"] == 0  # mapped the same again


def test_an_edit_of_another_users_turn_is_a_bad_line_not_a_404(tenant_client: NewClient) -> None:
    """An update naming a turn of the tenant held by another user passed the server's check and
    was then refused by the library as a 404 naming a log id the file does not hold."""
    client = tenant_client()
    [turn] = api_add(client, messages="u1's note about the garden", user_id="u1", session_id="s1")
    lines = _export(client).splitlines()
    logs = _log_count(client)
    update = {**json.loads(lines[1]), "id": "l_x", "kind": "update", "content_hash": "u-1", "turn_id": None}
    update.update(user_id="u2", payload={"item_id": turn, "text": "changed"})
    response = client.post("/v1/import", content="\n".join([lines[0], json.dumps(update)]).encode())
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith("line 2: update of turn"), response.text
    assert _log_count(client) == logs and client.get(f"/v1/memories/{turn}").json()["text"].startswith("u1's")
