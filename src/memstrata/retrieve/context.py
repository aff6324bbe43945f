"""Pack hits into a cited, token-budgeted block for a prompt."""

from __future__ import annotations

from datetime import datetime

from memstrata.core.text import estimate_tokens
from memstrata.core.types import Context, Hit

__all__ = ["format_hit", "pack_context"]

HEADER = "Relevant memories (oldest first; [id] date speaker: text):"


def format_hit(hit: Hit) -> str:
    when = hit.timestamp.strftime("%Y-%m-%d %H:%M") if hit.timestamp else "undated"
    who = f" {hit.speaker}:" if hit.speaker else ":"
    return f"[{hit.id}] {when}{who} {hit.text}"


def pack_context(query: str, hits: list[Hit], max_tokens: int) -> Context:
    """Take hits best first while they fit ``max_tokens``, then order the chosen ones by time."""
    used = estimate_tokens(HEADER)
    chosen: list[tuple[Hit, str]] = []
    seen_text: set[str] = set()
    for hit in hits:
        key = " ".join(hit.text.lower().split())
        if key in seen_text:
            continue
        line = format_hit(hit)
        cost = estimate_tokens(line)
        if used + cost > max_tokens:
            continue
        seen_text.add(key)
        chosen.append((hit, line))
        used += cost
    chosen.sort(key=lambda pair: (pair[0].timestamp is None, pair[0].timestamp or datetime.min, pair[0].id))
    text = "\n".join([HEADER, *(line for _, line in chosen)]) if chosen else ""
    return Context(
        text=text,
        items=[hit for hit, _ in chosen],
        tokens=estimate_tokens(text) if text else 0,
        max_tokens=max_tokens,
        query=query,
    )
