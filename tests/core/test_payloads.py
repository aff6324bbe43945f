"""Typed payloads of derived items: the stored shape round-trips, ill-formed fields read as absent."""

from __future__ import annotations

from typing import Any

from outcrop.core.payloads import EpisodePayload, FactPayload, ProfilePayload, SlotPayload
from outcrop.core.types import Item, Level, Scope


def fact(metadata: dict[str, Any], level: Level = Level.FACT) -> Item:
    return Item(id="f_1", level=level, scope=Scope(), text="x", metadata=metadata)


STORED_FACT: dict[str, Any] = {
    "kind": "event",
    "entities": ["Yosemite", "Melanie"],
    "dates": [
        {"phrase": "last weekend", "start": "2023-05-06", "end": "2023-05-07", "granularity": "weekend", "label": "w"}
    ],
    "slot": {"subject": "Melanie", "attribute": "home", "value": "Boston", "single": True},
    "restated": [{"id": "f_0", "sources": ["t_0"], "timestamp": None}],
}


def test_a_stored_fact_reads_typed_and_writes_back_unchanged() -> None:
    payload = FactPayload.of(fact(STORED_FACT))
    assert payload.slot is not None and payload.slot.key == ("melanie", "home")
    assert payload.dates[0].granularity == "weekend" and payload.restated[0].sources == ["t_0"]
    assert payload.to_metadata() == STORED_FACT


def test_empty_optional_fields_are_not_stored_and_judgements_only_when_made() -> None:
    payload = FactPayload(kind="statement", entities=[])
    assert payload.to_metadata() == {"kind": "statement", "entities": []}
    payload.slot = SlotPayload(subject="Ann", attribute="job", value="nurse")
    assert payload.to_metadata()["slot"] == {"subject": "Ann", "attribute": "job", "value": "nurse", "single": True}
    payload.slot.judged = {"f_0": "replaces"}
    assert payload.to_metadata()["slot"]["judged"] == {"f_0": "replaces"}


def test_ill_formed_fields_read_as_absent_never_as_an_error() -> None:
    payload = FactPayload.of(
        fact(
            {
                "slot": {"subject": "", "attribute": "home"},  # no subject: fills no slot
                "entities": "Boston",  # not a list
                "dates": [{"phrase": "x"}, STORED_FACT["dates"][0]],  # one well-formed entry
                "restated": [{"sources": ["t_1"]}],  # no id
            }
        )
    )
    assert payload.slot is None and payload.entities == [] and payload.restated == []
    assert [d.phrase for d in payload.dates] == ["last weekend"]


def test_a_numeric_slot_value_reads_as_text() -> None:
    payload = FactPayload.of(fact({"slot": {"subject": "Ann", "attribute": "age", "value": 41}}))
    assert payload.slot is not None and payload.slot.value == "41"


def test_other_levels_have_an_empty_fact_payload() -> None:
    assert FactPayload.of(fact(STORED_FACT, level=Level.TURN)).slot is None


def test_producer_extras_round_trip() -> None:
    stored = {"start": None, "end": None, "participants": ["Ann"], "entities": [], "turns": 3, "producer": "x@1"}
    assert EpisodePayload.from_metadata(stored).to_metadata() == stored
    line = {
        "subject": "Ann",
        "attribute": "pet",
        "values": [{"value": "a dog", "support": 2, "first_seen": None, "last_seen": None}],
        "support": 2,
        "facts": ["f_1"],
        "reflection": "kept",
    }
    assert ProfilePayload.from_metadata(line).to_metadata() == line


def test_a_relation_views_brief_line_keeps_each_object_and_what_it_is_without_dates() -> None:
    from outcrop.core.payloads import RelationPayload

    entry = {"first_seen": "2023-05-01T10:00:00", "sources": ["t_1"]}
    view = RelationPayload(
        label="Audrey — owns",
        entries=[
            {"object": "Pepper", "kind": "dog", **entry},
            {"object": "Mochi", "kind": "cat", "status": "ended", "ended": "2023-06-01T10:00:00", **entry},
            {"object": "Pixie", "kind": "dog", **entry},
            {"object": "a parrot", "kind": "parrot", "status": "negated", **entry},
            {"object": "Lisbon", "kind": "place", "when": "2024-08-01T00:00:00", **entry},
            {"object": "Dune", "kind": "book", "status": "cancelled", "to": "Caroline", **entry},
        ],
    )
    assert view.brief() == (
        "Audrey — owns: dog: Pepper, Pixie; cat: Mochi (ended); parrot: not a parrot; Lisbon (for 1 August 2024); "
        "book: Dune (to Caroline, cancelled)"
    )
    assert RelationPayload(label="Audrey — owns").brief() == "Audrey — owns"
    odd = RelationPayload(label="Ann — plans", entries=[{"object": "a trip", "when": "next spring"}])
    assert odd.brief() == "Ann — plans: a trip"  # an ill-formed time is read as absent
