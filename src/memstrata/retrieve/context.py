"""Pack hits into a cited, token-budgeted block for a prompt.

Layout: profile lines first (stable facts about the participants), then every other chosen item
ordered by time under a line naming its date (items of one session share one date line), each
with its id and speaker. Items are chosen best first while they fit, a date line counting against
the budget once; a coarse item is followed by its best supporting turns when they fit too (zoom
in), and an item whose turns are all carried by items already chosen is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from memstrata.core.text import estimate_tokens
from memstrata.core.types import Context, Hit, Level
from memstrata.retrieve.zoom import carried_turns

__all__ = ["HEADER", "PROFILE_HEADER", "format_hit", "pack_context"]

HEADER = "Relevant memories (oldest first, under their date; [id] speaker: text):"
PROFILE_HEADER = "About the participants:"
_PROFILE_SHARE = 0.2  # at most this share of the budget goes to profile lines


def format_hit(hit: Hit, *, dated: bool = True) -> str:
    """One cited line: ``[id] date time speaker: text`` (``dated=False``: without the date, for a line
    under its date heading; profile lines carry neither)."""
    if hit.level == Level.PROFILE:
        return f"[{hit.id}] {hit.text}"
    who = f" {hit.speaker}:" if hit.speaker and hit.level == Level.TURN else ""
    if not dated:
        return f"[{hit.id}]{who} {hit.text}"
    when = hit.timestamp.strftime("%Y-%m-%d %H:%M") if hit.timestamp else "undated"
    return f"[{hit.id}] {when}{who or ':'} {hit.text}"


def date_heading(hit: Hit) -> str:
    """The day, without the time: same-day sessions share one line (LoCoMo: coverage +0.2 to +0.6
    points @1000 tokens, the time of day almost never being asked)."""
    return hit.timestamp.strftime("%Y-%m-%d") if hit.timestamp else "undated"


def pack_context(
    query: str,
    hits: Sequence[Hit],
    max_tokens: int,
    *,
    profile: Sequence[Hit] = (),
    support: Mapping[str, Hit] | None = None,
) -> Context:
    """``hits`` best first; ``profile`` lines to offer first; ``support`` turn hits by id, used to
    zoom into coarse hits."""
    used = estimate_tokens(HEADER)
    covered: set[str] = set()
    seen_text: set[str] = set()
    headings: set[str] = set()
    profile_lines: list[tuple[Hit, str]] = []
    chosen: list[tuple[Hit, str]] = []

    def take(hit: Hit, into: list[tuple[Hit, str]], budget: int) -> bool:
        nonlocal used
        key = " ".join(hit.text.lower().split())
        turns = carried_turns(hit)
        if key in seen_text or (turns and turns <= covered):
            return False
        is_profile = hit.level == Level.PROFILE
        line = format_hit(hit, dated=False)
        heading = None if is_profile else date_heading(hit)
        cost = estimate_tokens(line) + (estimate_tokens(heading) if heading and heading not in headings else 0)
        if used + cost > budget:
            return False
        seen_text.add(key)
        covered.update(turns)
        if heading:
            headings.add(heading)
        into.append((hit, line))
        used += cost
        return True

    if profile:
        used += estimate_tokens(PROFILE_HEADER)
        profile_budget = used + int(max_tokens * _PROFILE_SHARE)
        for hit in profile:
            take(hit, profile_lines, min(profile_budget, max_tokens))
    for hit in hits:
        if hit.level == Level.PROFILE:
            take(hit, profile_lines, max_tokens)
            continue
        if take(hit, chosen, max_tokens) and support and hit.level in (Level.EPISODE, Level.TOPIC):
            for source in hit.explain.get("zoom_in", [])[:2]:
                if source in support:
                    take(support[source], chosen, max_tokens)
    chosen.sort(key=lambda pair: (pair[0].timestamp is None, pair[0].timestamp or datetime.min, pair[0].id))
    blocks: list[str] = []
    if profile_lines:
        blocks += [PROFILE_HEADER, *(line for _, line in profile_lines)]
    if chosen:
        blocks.append(HEADER)
        last = None
        for hit, line in chosen:
            heading = date_heading(hit)
            if heading != last:
                blocks.append(heading)
                last = heading
            blocks.append(line)
    text = "\n".join(blocks)
    return Context(
        text=text,
        items=[hit for hit, _ in profile_lines + chosen],
        tokens=estimate_tokens(text) if text else 0,
        max_tokens=max_tokens,
        query=query,
    )
