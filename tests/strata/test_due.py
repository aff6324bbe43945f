"""Records of turns awaiting their strata: what they name survives the store's JSON, and a record
written by an earlier version (no turns named: an import's edits) still asks for the owner anew."""

from __future__ import annotations

from outcrop.core.types import Scope
from outcrop.stores.base import StrataDue

SESSION = Scope(tenant="t", user_id="u1", session_id="s1")


def test_a_record_of_edits_round_trips_through_its_json() -> None:
    due = StrataDue("d_1", SESSION, ("t_new",), edited=("t_a",), removed=("t_b", "t_c"))
    assert StrataDue.from_json("d_1", due.to_json()) == due
    assert not due.whole


def test_a_record_naming_no_turn_asks_for_the_owner_anew() -> None:
    earlier = '{"scope": {"tenant": "t", "user_id": "u1", "agent_id": null, "session_id": null}, "turn_ids": []}'
    due = StrataDue.from_json("d_2", earlier)
    assert due.whole and due.edited == () and due.removed == ()
    assert not StrataDue("d_3", SESSION, (), removed=("t_b",)).whole


def test_a_record_may_ask_for_the_owner_anew_beside_the_turns_it_names() -> None:
    """An import's edits of turns held: the owner's strata anew, then the edited turns' facts."""
    due = StrataDue("d_4", SESSION, (), edited=("t_a",), anew=True)
    again = StrataDue.from_json("d_4", due.to_json())
    assert again == due and again.whole
