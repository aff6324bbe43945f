"""The items the producers' drafts become: episodes, topics and profile lines.

Each gets a deterministic id from its owner scope and what identifies it (the session, the topic's
key, the profile line's subject and attribute), so consolidating twice writes nothing new, and
names as its producer the one that made it (an LLM producer's fallback when that stepped in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from outcrop.core.ids import derived_id
from outcrop.core.payloads import EpisodePayload, ProfilePayload, TopicPayload
from outcrop.core.types import Item, Level, Scope
from outcrop.strata.base import EpisodeDraft, ProfileDraft, TopicDraft

__all__ = ["episode_id", "episode_item", "profile_item", "topic_item"]


def episode_id(session: Scope) -> str:
    """The id of the episode of ``session`` (a scope with its session set)."""
    return _derived(Level.EPISODE, session, [session.session_id])


def episode_item(session: Scope, draft: EpisodeDraft, producer: str) -> Item:
    payload = EpisodePayload.model_validate(
        {
            "start": _iso(draft.start),
            "end": _iso(draft.end),
            "participants": draft.participants,
            "entities": draft.entities,
            **draft.metadata,
        }
    )
    metadata = payload.to_metadata()
    return _item(Level.EPISODE, session, [session.session_id], draft, producer, metadata, timestamp=draft.start)


def topic_item(owner: Scope, draft: TopicDraft, producer: str) -> Item:
    payload = TopicPayload.model_validate(
        {
            "label": draft.label,
            "start": _iso(draft.start),
            "end": _iso(draft.end),
            "entities": draft.entities,
            "facts": draft.facts,
            **_without_producer(draft.metadata),
        }
    )
    return _item(Level.TOPIC, owner, [draft.key], draft, producer, payload.to_metadata(), timestamp=draft.start)


def profile_item(owner: Scope, draft: ProfileDraft, producer: str) -> Item:
    payload = ProfilePayload.model_validate(
        {
            "subject": draft.subject,
            "attribute": draft.attribute,
            "values": draft.values,
            "support": draft.support,
            "facts": draft.facts,
            **_without_producer(draft.metadata),
        }
    )
    metadata = payload.to_metadata()
    return _item(
        Level.PROFILE, owner, [draft.subject, draft.attribute], draft, producer, metadata, speaker=draft.subject
    )


def _derived(level: Level, owner: Scope, key: Sequence[str | None]) -> str:
    return derived_id(level.prefix, owner.tenant, owner.user_id, owner.agent_id, *key)


def _item(
    level: Level,
    owner: Scope,
    key: Sequence[str | None],
    draft: EpisodeDraft | TopicDraft | ProfileDraft,
    producer: str,
    metadata: dict[str, Any],
    *,
    timestamp: datetime | None = None,
    speaker: str | None = None,
) -> Item:
    return Item(
        id=_derived(level, owner, key),
        level=level,
        scope=owner,
        text=draft.text,
        speaker=speaker,
        timestamp=timestamp,
        metadata=metadata,
        sources=draft.sources,
        producer=str(draft.metadata.get("producer") or producer),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _without_producer(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k != "producer"}
