"""LLM topic labels, profile reflection and slot judgement on a real store, driven through the
real HTTP protocol by a scripted chat server on loopback (the real model runs in tests/llm)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from outcrop import Level, Memory, MemoryConfig
from outcrop.llm.scripted import Reply, ScriptedServer
from outcrop.providers import Embedder
from tests.helpers import STORY_STRATA, ingest_story, prompt_system, prompt_user


def model_reply(request: dict[str, object]) -> Reply:
    system, user = prompt_system(request), prompt_user(request)
    if "name topics" in system:
        if "marshmallows" in user:
            return Reply(status=500)  # this topic's call fails: the rule label stays
        first = user.splitlines()[1]
        return Reply(
            content=json.dumps({"label": f"About {first[-12:]}", "summary": "Things that happened over time."})
        )
    if "check a person's profile" in system:
        verdict = "unsupported" if "hiking" in user.split("Facts:")[0] else "supported"
        return Reply(content=json.dumps({"verdict": verdict, "reason": f"scripted {verdict}"}))
    if "keep a long-term memory consistent" in system:
        verdict = "same" if "South Boston" in user else "replaces" if "quit hiking" in user else "both_true"
        return Reply(content=json.dumps({"verdict": verdict, "reason": "scripted"}))
    return Reply(status=400)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(model_reply, model="scripted-1") as s:
        yield s


def memory(tmp_path: Path, server: ScriptedServer, embedder: Embedder, **strata: object) -> Memory:
    config = MemoryConfig.build(
        {
            "store": f"sqlite:///{tmp_path / 'm.db'}",
            "strata": {**STORY_STRATA, **strata},
            "llm": {"base_url": server.base_url, "model": "scripted-1", "backoff": 0.0, "max_retries": 0},
        }
    )
    return Memory(config=config, embedder=embedder)


def test_topics_are_named_by_the_model_and_keep_the_rule_label_on_failure(
    tmp_path: Path, server: ScriptedServer, embedder: Embedder
) -> None:
    with memory(tmp_path, server, embedder, topic_producer="llm") as m:
        ingest_story(m)
        topics = m.list(user_id="u1", level=Level.TOPIC, limit=50)
    assert topics
    by_llm = [t for t in topics if t.producer == "topics.llm@1:scripted-1:topic@1"]
    by_rules = [t for t in topics if t.producer == "topics.leader@1"]
    assert by_llm, [t.producer for t in topics]
    for topic in by_llm:
        label = topic.metadata["label"]
        assert label.startswith("About ") and topic.text.startswith(f"Topic: {label}. Things that happened")
        assert topic.metadata["rule_label"] and topic.metadata["rule_label"] != label
        assert topic.sources  # provenance down to turns is kept
    for topic in by_rules:  # the failed call: rule label, and the failure is in the ledger
        assert "marshmallows" in topic.text and "rule_label" not in topic.metadata
    if by_rules:
        assert m.llm is not None and m.llm.ledger.totals("topic@1")["failed"] >= 1


def test_profile_lines_the_facts_do_not_support_leave_the_profile_with_their_reason(
    tmp_path: Path, server: ScriptedServer, embedder: Embedder
) -> None:
    with memory(tmp_path, server, embedder, profile_producer="llm") as m:
        ingest_story(m)
        lines = m.list(user_id="u1", level=Level.PROFILE, limit=50)
    texts = [p.text for p in lines]
    assert lines and not any("hiking" in t for t in texts), texts
    assert all(p.producer == "profile.llm@1:scripted-1:profile.reflect@1" for p in lines)
    assert all(p.metadata["reflection"]["verdict"] == "supported" for p in lines)
    caroline = [p for p in lines if p.metadata["subject"] == "Caroline"]
    assert caroline, texts
    rejected = caroline[0].metadata["reflection_rejected"]
    assert any("hiking" in r["line"] and r["reason"] == "scripted unsupported" for r in rejected)
    # the same scope with the rules alone keeps the line
    with Memory(
        config=MemoryConfig.build({"store": f"sqlite:///{tmp_path / 'r.db'}", "strata": STORY_STRATA}),
        embedder=embedder,
    ) as plain:
        ingest_story(plain)
        assert any("hiking" in p.text for p in plain.list(user_id="u1", level=Level.PROFILE, limit=50))


SLOT_SESSIONS = [
    ("s1", "2023-05-01T10:00:00", ["I live in Boston.", "I really like hiking."]),
    ("s2", "2023-06-01T10:00:00", ["I live in South Boston."]),
    ("s3", "2023-07-01T10:00:00", ["I live in Paris now.", "I like running instead, I quit hiking."]),
]


def ingest_slots(m: Memory) -> None:
    for session, when, texts in SLOT_SESSIONS:
        m.add(
            [{"role": "user", "name": "Ann", "content": t} for t in texts],
            user_id="u1",
            session_id=session,
            timestamp=when,
        )


def test_the_judge_settles_ambiguous_slot_changes_and_read_time_truth_follows(
    tmp_path: Path, server: ScriptedServer, embedder: Embedder
) -> None:
    with memory(tmp_path, server, embedder, slot_judge="llm", topics=False, profile=False, episodes=False) as m:
        ingest_slots(m)
        lives = {v.value: v for v in m.timeline("Ann", "lives_in", user_id="u1")}
        likes = m.timeline("Ann", "likes", user_id="u1")
        facts = {f.id: f for f in m.list(user_id="u1", level=Level.FACT, limit=50)}
    judged = [r for r in server.requests if "keep a long-term memory consistent" in prompt_system(r)]
    # only the two ambiguous pairs went to the model: Boston / South Boston (shared word) and
    # hiking / running (a multi-valued slot with "instead", "quit"); Boston → Paris is plain
    assert len(judged) == 2, [prompt_user(r) for r in judged]
    assert set(lives) == {"Boston", "South Boston", "Paris"}
    paris = lives["Paris"]
    assert lives["Boston"].superseded_by == paris.fact_id  # "same" kept Boston current until Paris
    assert lives["South Boston"].superseded_by == paris.fact_id and paris.current
    south = facts[lives["South Boston"].fact_id].metadata["slot"]
    assert south["judged"] == {lives["Boston"].fact_id: "same"}
    assert south["judged_by"] == "slots.llm@1:scripted-1:slot.judge@1"
    hiking = next(v for v in likes if v.value == "hiking")
    assert hiking.superseded_by is not None and facts[hiking.superseded_by].text.startswith("Ann likes running")


def test_without_the_judge_the_rule_retires_on_any_new_value(tmp_path: Path, embedder: Embedder) -> None:
    config = MemoryConfig.build(
        {"store": f"sqlite:///{tmp_path / 'm.db'}", "strata": {"topics": False, "profile": False, "episodes": False}}
    )
    with Memory(config=config, embedder=embedder) as m:
        ingest_slots(m)
        lives = {v.value: v for v in m.timeline("Ann", "lives_in", user_id="u1")}
        likes = m.timeline("Ann", "likes", user_id="u1")
    assert lives["Boston"].superseded_by == lives["South Boston"].fact_id
    assert all(v.current for v in likes)  # multi-valued: the rule keeps every value
