"""Writers: named by a role or by the path; read back from metadata, or from the role of an
item stored before writers were recorded; inherited by what is derived from one turn."""

from __future__ import annotations

import pytest

from outcrop.core.provenance import (
    Writer,
    carried_turns,
    check_reserved,
    derived_provenance,
    flags_of,
    is_quarantined,
    parse_writer,
    writer_for_role,
    writer_of,
)
from outcrop.core.types import Item, Level, Scope
from outcrop.errors import InvalidInputError


def _item(level: Level = Level.TURN, role: str | None = "user", **metadata: object) -> Item:
    return Item(id="t_1", level=level, scope=Scope(), text="x", role=role, metadata=metadata, sources=["l_1"])


@pytest.mark.parametrize(
    ("role", "writer"),
    [
        ("user", Writer.USER),
        ("Assistant", Writer.AGENT),
        (" system ", Writer.AGENT),
        ("tool", Writer.TOOL),
        ("function", Writer.TOOL),
        ("Caroline", Writer.DOCUMENT),
        (None, Writer.DOCUMENT),
    ],
)
def test_a_role_names_its_writer_else_the_path_does(role: str | None, writer: Writer) -> None:
    assert writer_for_role(role, Writer.DOCUMENT) == writer


def test_the_recorded_writer_wins_and_an_old_item_reads_as_its_role() -> None:
    assert writer_of(_item(role="user", writer="tool")) == Writer.TOOL
    assert writer_of(_item(role="assistant")) == Writer.AGENT  # stored before writers were recorded
    assert writer_of(_item(role="user", writer="nobody")) == Writer.USER  # not one of the set: the role
    assert writer_of(_item(Level.EPISODE, role=None)) is None


def test_a_fact_inherits_its_turns_writer_and_flags() -> None:
    turn = _item(role="tool", writer="tool", screening={"flags": ["override"], "by": "rules@1"})
    inherited = derived_provenance(turn)
    assert inherited["writer"] == "tool"
    assert inherited["screening"] == {"flags": ["override"], "by": "rules@1", "from": "t_1"}
    assert derived_provenance(_item(writer="user")) == {"writer": "user"}


def test_quarantined_until_released() -> None:
    flagged = _item(screening={"flags": ["override"]})
    assert flags_of(flagged) == ["override"] and is_quarantined(flagged)
    assert not is_quarantined(_item(screening={"flags": ["override"], "released": "2026-01-01T00:00:00"}))
    assert not is_quarantined(_item()) and flags_of(_item(screening="junk")) == []


def test_reserved_keys_and_writer_names_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="reserved"):
        check_reserved({"writer": "user"})
    with pytest.raises(InvalidInputError, match="unknown writer"):
        parse_writer("admin")
    assert parse_writer("tool") == Writer.TOOL


def test_carried_turns_unchanged() -> None:
    assert carried_turns(_item()) == {"t_1"}
