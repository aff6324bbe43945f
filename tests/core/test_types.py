"""Models built from trusted values: the same objects validation or ``model_construct`` would give."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from outcrop.core.types import Hit, Item, Level, Scope, trusted
from outcrop.stores.sql import ITEM_COLUMNS, row_to_item

SCOPE = {"tenant": "acme", "user_id": "u1", "agent_id": None, "session_id": "s2"}


def _same(built: BaseModel, reference: BaseModel) -> None:
    assert type(built) is type(reference)
    assert built == reference
    assert list(built.__dict__) == list(reference.__dict__)  # field order: dumps and reprs alike
    assert built.model_fields_set == reference.model_fields_set
    assert built.__pydantic_extra__ == reference.__pydantic_extra__
    assert built.__pydantic_private__ == reference.__pydantic_private__
    assert built.model_dump_json() == reference.model_dump_json()
    assert repr(built) == repr(reference)


def test_trusted_builds_what_model_construct_builds() -> None:
    _same(trusted(Scope, dict(SCOPE)), Scope.model_construct(**SCOPE))
    _same(trusted(Scope, dict(SCOPE)), Scope(**SCOPE))
    scope = Scope(**SCOPE)
    assert trusted(Scope, dict(SCOPE)).owner == scope.owner
    assert hash(trusted(Scope, dict(SCOPE))) == hash(scope)  # frozen: usable as a key like a validated one


def test_trusted_suits_every_model_it_builds() -> None:
    # trusted() skips post-init hooks, private attributes and extra fields: none of these models has any
    for model in (Scope, Item, Hit):
        assert not model.__pydantic_post_init__
        assert not model.__private_attributes__
        assert model.model_config.get("extra") in (None, "ignore")


def _row(**changes: Any) -> list[Any]:
    values = {
        "id": "f-1",
        "level": "fact",
        "tenant": "acme",
        "user_id": "u1",
        "agent_id": None,
        "session_id": "s2",
        "role": "user",
        "speaker": "Ann",
        "text": "Ann moved to Lisbon.",
        "timestamp": "2023-05-08T13:56:00+00:00",
        "metadata": '{"kind": "event", "dates": [{"phrase": "yesterday"}], "writer": "user"}',
        "producer": "rules",
        "version": 2,
        "recorded_at": "2026-12-05T06:17:40+00:00",
        "updated_at": None,
    }
    values.update(changes)
    return [values[name.strip()] for name in ITEM_COLUMNS.split(",")]


def test_a_stored_row_maps_to_the_item_validation_gives() -> None:
    validated = Item(
        id="f-1",
        level=Level.FACT,
        scope=Scope(**SCOPE),
        text="Ann moved to Lisbon.",
        role="user",
        speaker="Ann",
        timestamp=datetime(2023, 5, 8, 13, 56, tzinfo=UTC),
        metadata={"kind": "event", "dates": [{"phrase": "yesterday"}], "writer": "user"},
        sources=["t-1", "t-2"],
        producer="rules",
        version=2,
        recorded_at=datetime(2026, 12, 5, 6, 17, 40, tzinfo=UTC),
        updated_at=None,
    )
    # every field given, as model_construct marked them, and equal to the validated item
    _same(row_to_item(_row(), ["t-1", "t-2"]), Item.model_construct(**validated.__dict__))
    assert row_to_item(_row(), ["t-1", "t-2"]) == validated
    assert row_to_item(_row(), ["t-1", "t-2"]).level is Level.FACT
    # PostgreSQL hands back decoded JSON and datetimes
    decoded = _row(metadata=dict(validated.metadata), timestamp=validated.timestamp, recorded_at=validated.recorded_at)
    assert row_to_item(decoded, ["t-1", "t-2"]) == validated
    assert row_to_item(_row(metadata=None), []).metadata == {}


def test_hits_from_items_and_rescored_hits_match_the_generic_copies() -> None:
    item = row_to_item(_row(), ["t-1"])
    explain: Any = {"channels": {"bm25": {"rank": 1, "score": 2.5}}, "rrf": 0.016393}
    hit = Hit.from_item(item, 0.5, explain)
    reference = Hit.model_construct(
        id=item.id,
        text=item.text,
        score=0.5,
        level=item.level,
        role=item.role,
        speaker=item.speaker,
        timestamp=item.timestamp,
        session_id="s2",
        user_id="u1",
        agent_id=None,
        metadata=item.metadata,
        sources=item.sources,
        explain=explain,
    )
    _same(hit, reference)
    assert hit == Hit.model_validate(hit.model_dump())
    changed = {**explain, "strength": {"retention": 0.9, "rank": 1}}
    _same(hit.rescored(0.75, changed), hit.model_copy(update={"score": 0.75, "explain": changed}))
    assert hit.score == 0.5 and "strength" not in hit.explain  # the original is left as it was
    partial = Hit(id="h", text="x", score=1.0, level=Level.TURN)  # fields left unset stay unset
    _same(partial.rescored(2.0, {"rrf": 0.1}), partial.model_copy(update={"score": 2.0, "explain": {"rrf": 0.1}}))
