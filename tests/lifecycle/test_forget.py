"""Forget with a receipt: nothing derived from the forgotten records remains, anywhere in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcrop import InvalidInputError, Level, Memory, MemoryConfig, NotFoundError
from outcrop.core.types import Scope
from outcrop.providers import Embedder

from .conftest import SECRETS, file_hits, open_memory, table_hits


def test_forget_a_session_leaves_nothing_in_any_table(filled: Memory, db_path: Path) -> None:
    before = filled.stats(user_id="u1")["counts"]
    assert table_hits(db_path, SECRETS)  # the secrets are stored before
    s2_levels = {i.level for i in filled.list(user_id="u1", session_id="s2", limit=1000)}
    assert {Level.TURN, Level.FACT, Level.EPISODE} <= s2_levels

    receipt = filled.forget(user_id="u1", session_id="s2")

    assert receipt.ok, receipt.verification
    assert (receipt.scope.user_id, receipt.scope.session_id) == ("u1", "s2")  # what was asked to go
    assert receipt.verification.terms_checked >= len(SECRETS)
    assert receipt.verification.phrases_checked >= 3
    assert len(receipt.removed["turn"]) == 3 and len(receipt.removed["log"]) == 3
    assert receipt.removed["episode"] and receipt.removed["fact"]
    after = filled.stats(user_id="u1")["counts"]
    assert after["turn"] == before["turn"] - 3 and after["log"] == before["log"] - 3
    assert after["episode"] == before["episode"] - 1
    assert after["fact"] == before["fact"] - len(receipt.removed["fact"])
    assert filled.list(user_id="u1", session_id="s2") == []
    assert table_hits(db_path, SECRETS) == {}
    assert file_hits(db_path, SECRETS) == {}
    for hit in filled.search("Zorblax the parrot from Quokkaville", user_id="u1", limit=50):
        assert not any(s in hit.text.lower() for s in SECRETS)
    # the rest of the memory is untouched: other sessions, other users
    assert any("pottery" in h.text for h in filled.search("pottery class", user_id="u1"))
    assert filled.stats(user_id="u2")["counts"]["turn"] == 4


def test_forget_one_turn_recomputes_what_drew_on_it(filled: Memory, db_path: Path) -> None:
    turns = filled.list(user_id="u1", session_id="s2", level="turn")
    bart = next(t for t in turns if t.speaker == "Bartholomew")
    facts = [f for f in filled.list(user_id="u1", level="fact", limit=1000) if bart.id in f.sources]
    assert facts

    receipt = filled.forget([bart.id], user_id="u1")

    assert receipt.ok, receipt.verification
    assert receipt.removed["turn"] == [bart.id]
    assert set(receipt.removed["fact"]) == {f.id for f in facts}
    assert "episode" in receipt.recomputed  # the session's episode lost a participant
    left = filled.list(user_id="u1", session_id="s2", level="turn")
    assert [t.id for t in left] == [t.id for t in turns if t.id != bart.id]
    # the neighbours' lexical context no longer carries the forgotten turn
    tenant = Scope(tenant="default", user_id=None)
    assert filled.store.lexical.search(tenant, {"marzipanoid": 1.0}, 5, context_weight=1.0) == []
    assert table_hits(db_path, ["marzipanoid", "bartholomew"]) == {}
    assert file_hits(db_path, ["marzipanoid", "bartholomew"]) == {}
    # what the other turns said is still there
    assert table_hits(db_path, ["zorblax"])


def test_forget_a_fact_forgets_the_turn_it_came_from(filled: Memory) -> None:
    fact = next(f for f in filled.list(user_id="u1", level="fact", limit=1000) if "Zorblax" in f.text)
    receipt = filled.forget([fact.id])
    assert receipt.ok
    assert receipt.removed["turn"] == fact.sources
    with pytest.raises(NotFoundError):
        filled.get(fact.sources[0])


def test_forget_a_deleted_turn_erases_its_log_and_history(filled: Memory, db_path: Path) -> None:
    turn = next(t for t in filled.list(user_id="u1", level="turn", limit=100) if "Zorblax sounds" in t.text)
    filled.update(turn.id, "Zorblax sounds lovely, a Quokkaville parrot!")
    filled.delete(turn.id)
    assert len(filled.history(turn.id)) == 3  # add, update, delete: the text is still in the log

    receipt = filled.forget([turn.id])

    assert receipt.ok
    assert len(receipt.removed["log"]) == 3
    with pytest.raises(NotFoundError):
        filled.history(turn.id)


def test_forgetting_a_turn_erases_the_edits_of_what_was_drawn_from_it(filled: Memory, db_path: Path) -> None:
    """A fact edited with ``update`` cites the record that changed it; forgetting the fact's turn
    erases the fact, that record and its history too (the edit restates the fact: it kept
    "Vexmoor" in the log, the history and the file after the turn was gone)."""
    fact = next(f for f in filled.list(user_id="u1", level="fact", limit=1000) if "Zorblax" in f.text)
    [turn] = fact.sources
    filled.update(fact.id, "Ann's parrot came from Vexmoor.")
    assert [v.event for v in filled.history(fact.id)] == ["update"] and table_hits(db_path, ["vexmoor"])

    receipt = filled.forget([turn])

    assert receipt.ok and receipt.verification.terms_checked >= 1
    assert fact.id in receipt.removed["fact"] and len(receipt.removed["log"]) == 2  # the message and the edit
    with pytest.raises(NotFoundError):
        filled.history(fact.id)
    assert table_hits(db_path, ["vexmoor"]) == {} and file_hits(db_path, ["vexmoor"]) == {}


def test_forget_a_user_removes_every_level(filled: Memory, db_path: Path) -> None:
    before = filled.stats(user_id="u1")["counts"]
    receipt = filled.forget(user_id="u1")
    assert receipt.ok
    assert all(n == 0 for n in filled.stats(user_id="u1")["counts"].values())
    assert receipt.count() == {level: n for level, n in before.items() if n}
    assert {"log", "turn", "fact", "episode", "profile"} <= set(receipt.removed)
    assert table_hits(db_path, SECRETS) == {}
    assert filled.stats(user_id="u2")["counts"]["turn"] == 4
    assert filled.search("pottery", user_id="u2")


def test_bad_forget_requests_change_nothing(filled: Memory) -> None:
    before = filled.stats()["counts"], filled.stats(user_id="u1")["counts"]
    with pytest.raises(InvalidInputError):
        filled.forget()
    with pytest.raises(InvalidInputError):
        filled.forget("t_123")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        filled.forget(["x"], session_id="s1")
    with pytest.raises(NotFoundError):
        filled.forget([filled.list(user_id="u1", level="turn", limit=1)[0].id, "t_doesnotexist"])
    episode = filled.list(user_id="u1", level="episode")[0]
    with pytest.raises(InvalidInputError):
        filled.forget([episode.id])
    assert (filled.stats()["counts"], filled.stats(user_id="u1")["counts"]) == before


def test_forget_without_scrub_still_verifies(filled: Memory) -> None:
    receipt = filled.forget(user_id="u1", session_id="s2", scrub=False)
    assert receipt.ok and receipt.scrub == {}


def test_a_forget_that_erases_nothing_rewrites_nothing(filled: Memory) -> None:
    receipt = filled.forget(user_id="nobody")  # a scope with no records: its cost is nothing
    assert receipt.ok and receipt.removed == {}
    assert receipt.scrub == {}


def test_an_episode_derived_again_from_what_remains_passes_verification(tmp_path: Path, embedder: Embedder) -> None:
    """Forgetting the only turn a session's episode quotes erases the episode, and consolidation
    derives it again, under the same id, from the session's other turns: the forget is complete."""
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}", strata={"episode_turns": 1})
    with Memory(config=config, embedder=embedder) as m:
        m.add(
            [
                {"name": "Ann", "content": "I adopted a grey parrot called Zorblax from the shelter in town."},
                {"name": "Bo", "content": "A parrot! Parrots need a big cage and lots of attention every day."},
                {"name": "Ann", "content": "Zorblax already whistles the tune of my favourite song every morning."},
            ],
            user_id="u1",
            session_id="s1",
            timestamp="2024-03-10T10:00:00",
        )
        [episode] = m.list(user_id="u1", level="episode")
        [quoted] = episode.sources
        receipt = m.forget([quoted], user_id="u1")
        assert receipt.verification.passed, receipt.verification
        [again] = m.list(user_id="u1", level="episode")
        assert again.id == episode.id and quoted not in again.sources


def _user_and_agent(path: Path, embedder: Embedder) -> tuple[Memory, list[str]]:
    """A user who talks without an agent and with one ("bot"); the user's topics and profile read
    both (an agent-less owner reads every agent's facts). Returns the memory and the bot's turns."""
    m = open_memory(path, embedder)
    say = [{"role": "user", "name": "Maya", "content": "I love hiking in the Alps with my sister."}]
    m.add(say, user_id="maya", session_id="s0", timestamp="2024-01-01T10:00:00")
    secret = [
        {"role": "user", "name": "Maya", "content": "My secret hobby is collecting Grizzlewort stamps from Tuvalu."},
        {"role": "user", "name": "Maya", "content": "I love Grizzlewort stamps more than hiking."},
    ]
    bot = m.add(secret, user_id="maya", agent_id="bot", session_id="s1", timestamp="2024-01-02T10:00:00")
    say = [{"role": "user", "name": "Maya", "content": "I love swimming too."}]
    m.add(say, user_id="maya", session_id="s2", timestamp="2024-01-03T10:00:00")
    m.consolidate(user_id="maya")
    quoting = [i for lv in ("topic", "profile") for i in m.list(user_id="maya", level=lv) if "Grizzlewort" in i.text]
    assert any(i.scope.agent_id is None for i in quoting)  # the user's own views quote the agent's words
    return m, bot


@pytest.mark.parametrize("how", ["agent", "session", "ids"])
def test_forgetting_an_agents_words_recomputes_the_users_views_that_read_them(
    tmp_path: Path, embedder: Embedder, how: str
) -> None:
    """An agent's forget recomputed only the agent's own strata: the user's topics and profile kept
    the words (the receipt failed), and a second forget, resuming the plan, reported passed."""
    db = tmp_path / "m.db"
    m, bot = _user_and_agent(db, embedder)
    with m:
        if how == "agent":
            receipt = m.forget(user_id="maya", agent_id="bot")
        elif how == "session":
            receipt = m.forget(user_id="maya", agent_id="bot", session_id="s1")
        else:
            receipt = m.forget(bot, user_id="maya")
        assert receipt.ok, receipt.verification
        assert "topic" in receipt.recomputed or "profile" in receipt.recomputed
        for level in ("fact", "episode", "topic", "profile"):
            assert not [i.text for i in m.list(user_id="maya", level=level) if "grizzlewort" in i.text.lower()]
        assert any("swimming" in i.text for i in m.list(user_id="maya", level="profile"))  # the rest stays
        assert not [h for h in m.search("Grizzlewort stamps Tuvalu", user_id="maya") if "Grizzlewort" in h.text]
    assert table_hits(db, ["grizzlewort", "tuvalu"]) == {}  # nor a forget plan holding the words
    assert file_hits(db, ["grizzlewort", "tuvalu"]) == {}


def test_deleting_an_agents_turn_refreshes_the_users_views(tmp_path: Path, embedder: Embedder) -> None:
    m, bot = _user_and_agent(tmp_path / "m.db", embedder)
    with m:
        for turn in bot:
            m.delete(turn, user_id="maya")
        left = [i for lv in ("episode", "topic", "profile") for i in m.list(user_id="maya", level=lv)]
        assert left and not [i.text for i in left if "Grizzlewort" in i.text]


def test_consolidating_a_user_keeps_each_session_episode_with_its_owner(tmp_path: Path, embedder: Embedder) -> None:
    """The user's consolidation read the agent's session as its own and gave it a second,
    agent-less episode."""
    m, _ = _user_and_agent(tmp_path / "m.db", embedder)
    with m:
        episodes = m.list(user_id="maya", level="episode")
    assert sorted((e.scope.agent_id or "", e.scope.session_id) for e in episodes) == [
        ("", "s0"),
        ("", "s2"),
        ("bot", "s1"),
    ]


def test_a_forget_that_resumes_a_failing_plan_does_not_report_passed(filled: Memory) -> None:
    """A plan left pending because its verification found the content was reported as resumed
    while the new forget said passed."""
    from outcrop.lifecycle.forget import with_resumed
    from outcrop.lifecycle.receipts import ForgetReceipt, Leak, Verification

    tenant = Scope(tenant="default", user_id="u1")
    leak = Leak(item_id="c_1", level="topic", found_by="term", term="grizzlewort")
    failed = ForgetReceipt(scope=tenant, plan="g_1", verification=Verification(passed=False, leaks=[leak]))
    done = ForgetReceipt(scope=tenant, plan="g_2", verification=Verification(passed=True))
    receipt = with_resumed(done, [failed])
    assert not receipt.ok and receipt.verification.leaks == [leak] and receipt.resumed == ["g_1"]
