"""The temporal channel: query time windows, and selecting items inside them on a real store."""

from __future__ import annotations

from datetime import datetime

from outcrop import Memory
from outcrop.core.time.windows import TimeWindow, parse_relative_window, parse_window


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


def test_relative_windows_resolve_against_an_anchor() -> None:
    anchor = datetime(2023, 8, 20, 10)
    assert parse_relative_window("What did Ann do last summer?", anchor) == TimeWindow(
        datetime(2022, 6, 1), datetime(2022, 9, 1)
    )
    assert parse_relative_window("this summer", anchor) == TimeWindow(datetime(2023, 6, 1), datetime(2023, 9, 1))
    assert parse_relative_window("next winter", anchor) == TimeWindow(datetime(2023, 12, 1), datetime(2024, 3, 1))
    assert parse_relative_window("last winter", anchor) == TimeWindow(datetime(2022, 12, 1), datetime(2023, 3, 1))
    assert parse_relative_window("in the summer of 2021", None) == TimeWindow(
        datetime(2021, 6, 1), datetime(2021, 9, 1)
    )
    assert parse_relative_window("What did Ann buy last month?", anchor) == TimeWindow(
        datetime(2023, 7, 1), datetime(2023, 8, 1)
    )
    assert parse_relative_window("yesterday", anchor) == TimeWindow(datetime(2023, 8, 19), datetime(2023, 8, 20))
    assert parse_relative_window("last summer", None) is None  # no anchor, no window
    assert parse_relative_window("When did Ann go hiking?", anchor) is None


def test_last_summer_is_read_in_the_memorys_own_time(memory: Memory) -> None:
    # a replayed history: "last summer" is the summer over by its newest memory (20 Nov 2023),
    # i.e. summer 2023, not the one before today; the summer of 2022 is not it either
    for when, place in [("2022-07-10", "the Dolomites"), ("2023-05-14", "the lake"), ("2023-07-10", "the Alps")]:
        memory.add(f"Ann went hiking in {place}.", user_id="ann", session_id=when, timestamp=f"{when}T10:00:00Z")
    memory.add("Ann went hiking on the coast.", user_id="ann", session_id="s4", timestamp="2023-11-20T10:00:00Z")

    def where(query: str) -> list[str]:
        return [h.text for h in memory.search(query, user_id="ann", limit=5, channels={"temporal": 1.0})]

    summer = where("Where did Ann go hiking last summer?")
    assert summer and all("Alps" in text for text in summer), summer
    spring = where("Where did Ann go hiking this spring?")  # the anchor is in autumn: spring 2023
    assert spring and all("lake" in text for text in spring), spring
    assert where("Where did Ann go hiking last winter?") == []
    earlier = where("Where did Ann go hiking in the summer of 2022?")
    assert earlier and all("Dolomites" in text for text in earlier), earlier
