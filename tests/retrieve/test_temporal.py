"""The temporal channel: query time windows, and selecting items inside them on a real store."""

from __future__ import annotations

from datetime import datetime

from memstrata import Memory
from memstrata.retrieve.temporal import TimeWindow, parse_window


def test_parse_window_forms() -> None:
    assert parse_window("What did Ann do in May 2023?") == TimeWindow(datetime(2023, 5, 1), datetime(2023, 6, 1))
    assert parse_window("on 8 May, 2023") == TimeWindow(datetime(2023, 5, 8), datetime(2023, 5, 9))
    assert parse_window("before June 2023") == TimeWindow(None, datetime(2023, 6, 1))
    assert parse_window("after 2022") == TimeWindow(datetime(2023, 1, 1), None)
    assert parse_window("When did Ann go hiking?") is None


def test_temporal_channel_selects_the_window(memory: Memory) -> None:
    memory.add("Ann went hiking in the Alps.", user_id="ann", session_id="s1", timestamp="2023-03-02T10:00:00Z")
    memory.add("Ann went hiking near the lake.", user_id="ann", session_id="s2", timestamp="2023-05-14T10:00:00Z")
    memory.add("Ann went hiking on the coast.", user_id="ann", session_id="s3", timestamp="2023-08-20T10:00:00Z")
    hits = memory.search("Where did Ann go hiking in May 2023?", user_id="ann", limit=5, channels={"temporal": 1.0})
    assert hits and "lake" in hits[0].text
    assert all(h.timestamp is not None and datetime(2023, 5, 1) <= h.timestamp < datetime(2023, 6, 1) for h in hits)
    assert memory.search("Where did Ann go hiking?", user_id="ann", limit=5, channels={"temporal": 1.0}) == []
    mixed = memory.search(
        "Where did Ann go hiking in May 2023?", user_id="ann", limit=5, channels={"bm25": 1.0, "temporal": 1.0}
    )
    assert "lake" in mixed[0].text and "temporal" in mixed[0].explain["channels"]
