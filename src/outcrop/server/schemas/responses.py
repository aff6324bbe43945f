"""Response bodies of the ``/v1`` API: the server's own models, each field listed by name, so the
library's models (:mod:`outcrop.core.types`, the forget receipt, reports) can change without
changing what ``/v1`` sends. Each has a ``from_library`` that maps the library object field by
field; a field the library adds appears here only when it is added by hand. ``explain`` stays a
free-form JSON object."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from outcrop.core.time.clock import to_naive_utc
from outcrop.core.types import Context, Hit, Item, ItemVersion, Scope
from outcrop.lifecycle.export import ImportReport
from outcrop.lifecycle.receipts import ForgetReceipt, Leak, Verification
from outcrop.server.schemas.common import Level, level_of
from outcrop.strata.consolidate import ConsolidationReport
from outcrop.truth.slots import SlotValue

__all__ = [
    "AddResponse",
    "ConsolidateResponse",
    "ContextOut",
    "ForgetReceiptOut",
    "HitList",
    "HitOut",
    "ImportResult",
    "ItemList",
    "ItemOut",
    "LeakOut",
    "ScopeOut",
    "StatsResponse",
    "TimelineResponse",
    "TimelineValue",
    "VerificationOut",
    "VersionList",
    "VersionOut",
]

# The docstrings below are the schemas' descriptions in /openapi.json.


class AddResponse(BaseModel):
    ids: list[str] = Field(description="one turn id per message (the existing id for a message already stored)")


class ScopeOut(BaseModel):
    """Who a record belongs to: tenant → user → agent → session.

    For writes ``user_id`` is always set (``agent_id``/``session_id`` may be None, meaning "none").
    For reads ``None`` in ``user_id``, ``agent_id`` or ``session_id`` means "any"; the tenant
    always matches.
    """

    tenant: str = "default"
    user_id: str | None = "default"
    agent_id: str | None = None
    session_id: str | None = None

    @classmethod
    def from_library(cls, scope: Scope) -> ScopeOut:
        return cls(tenant=scope.tenant, user_id=scope.user_id, agent_id=scope.agent_id, session_id=scope.session_id)


class ItemOut(BaseModel):
    """A projection of the log at one resolution, with its provenance."""

    id: str
    level: Level
    scope: ScopeOut
    text: str
    role: str | None = None
    speaker: str | None = None
    timestamp: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)
    producer: str = ""
    version: int = 1
    recorded_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_library(cls, item: Item) -> ItemOut:
        return cls(
            id=item.id,
            level=level_of(item.level),
            scope=ScopeOut.from_library(item.scope),
            text=item.text,
            role=item.role,
            speaker=item.speaker,
            timestamp=item.timestamp,
            metadata=dict(item.metadata),
            sources=list(item.sources),
            producer=item.producer,
            version=item.version,
            recorded_at=item.recorded_at,
            updated_at=item.updated_at,
        )


class ItemList(BaseModel):
    items: list[ItemOut]
    next_offset: int | None = Field(description="offset of the next page; null on the last page")

    @classmethod
    def from_library(cls, items: Sequence[Item], next_offset: int | None) -> ItemList:
        return cls(items=[ItemOut.from_library(item) for item in items], next_offset=next_offset)


class HitOut(BaseModel):
    """One retrieved memory item, with the explain trace of how it was found."""

    id: str
    text: str
    score: float
    level: Level
    role: str | None = None
    speaker: str | None = None
    timestamp: datetime | None = None
    session_id: str | None = None
    user_id: str | None = None
    agent_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)
    explain: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_library(cls, hit: Hit) -> HitOut:
        return cls(
            id=hit.id,
            text=hit.text,
            score=hit.score,
            level=level_of(hit.level),
            role=hit.role,
            speaker=hit.speaker,
            timestamp=hit.timestamp,
            session_id=hit.session_id,
            user_id=hit.user_id,
            agent_id=hit.agent_id,
            metadata=dict(hit.metadata),
            sources=list(hit.sources),
            explain=dict(hit.explain),
        )


class HitList(BaseModel):
    hits: list[HitOut]

    @classmethod
    def from_library(cls, hits: Sequence[Hit]) -> HitList:
        return cls(hits=[HitOut.from_library(hit) for hit in hits])


class ContextOut(BaseModel):
    """A packed, cited block of memory ready to put in a prompt."""

    text: str
    items: list[HitOut]
    tokens: int
    max_tokens: int
    query: str
    confidence: float = 0.0
    answerable: bool = False
    complete: bool = False
    explain: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_library(cls, context: Context) -> ContextOut:
        return cls(
            text=context.text,
            items=[HitOut.from_library(hit) for hit in context.items],
            tokens=context.tokens,
            max_tokens=context.max_tokens,
            query=context.query,
            confidence=context.confidence,
            answerable=context.answerable,
            complete=context.complete,
            explain=dict(context.explain),
        )


class VersionOut(BaseModel):
    """One entry of an item's history."""

    item_id: str
    version: int
    event: str
    text: str | None
    log_id: str
    at: datetime

    @classmethod
    def from_library(cls, version: ItemVersion) -> VersionOut:
        return cls(
            item_id=version.item_id,
            version=version.version,
            event=version.event,
            text=version.text,
            log_id=version.log_id,
            at=version.at,
        )


class VersionList(BaseModel):
    versions: list[VersionOut]

    @classmethod
    def from_library(cls, versions: Sequence[ItemVersion]) -> VersionList:
        return cls(versions=[VersionOut.from_library(version) for version in versions])


class LeakOut(BaseModel):
    """A surviving item that still holds forgotten content or cites a forgotten id."""

    item_id: str
    level: str
    found_by: str
    term: str | None = None

    @classmethod
    def from_library(cls, leak: Leak) -> LeakOut:
        return cls(item_id=leak.item_id, level=leak.level, found_by=leak.found_by, term=leak.term)


class VerificationOut(BaseModel):
    """The search run after the forget: every distinctive term and exact phrase of the forgotten
    content, lexically over every level of the tenant, own text and neighbour context; the
    provenance edges and metadata of surviving items; the log and items by id."""

    passed: bool
    terms_checked: int = 0
    phrases_checked: int = 0
    leaks: list[LeakOut] = Field(default_factory=list)
    remaining: list[str] = Field(default_factory=list)

    @classmethod
    def from_library(cls, verification: Verification) -> VerificationOut:
        return cls(
            passed=verification.passed,
            terms_checked=verification.terms_checked,
            phrases_checked=verification.phrases_checked,
            leaks=[LeakOut.from_library(leak) for leak in verification.leaks],
            remaining=list(verification.remaining),
        )


class ForgetReceiptOut(BaseModel):
    scope: ScopeOut
    plan: str = Field("", description="the forget's plan, kept by the store until the forget is verified")
    removed: dict[str, list[str]] = Field(default_factory=dict)
    recomputed: dict[str, list[str]] = Field(default_factory=dict)
    written: dict[str, int] = Field(default_factory=dict)
    verification: VerificationOut
    scrub: dict[str, Any] = Field(default_factory=dict)
    already_forgotten: list[str] = Field(
        default_factory=list, description="ids an earlier forget erased: nothing left to do for them"
    )
    resumed: list[str] = Field(
        default_factory=list, description="plans of forgets a stopped process cut short, completed first"
    )

    @classmethod
    def from_library(cls, receipt: ForgetReceipt) -> ForgetReceiptOut:
        return cls(
            scope=ScopeOut.from_library(receipt.scope),
            plan=receipt.plan,
            removed={level: list(ids) for level, ids in receipt.removed.items()},
            recomputed={level: list(ids) for level, ids in receipt.recomputed.items()},
            written=dict(receipt.written),
            verification=VerificationOut.from_library(receipt.verification),
            scrub=dict(receipt.scrub),
            already_forgotten=list(receipt.already_forgotten),
            resumed=list(receipt.resumed),
        )


class ImportResult(BaseModel):
    records: int = 0
    added: int = 0
    skipped: int = 0
    turns: int = 0
    written: dict[str, int] = {}
    dropped: int = Field(0, description="updates/deletes of derived items the tenant does not hold, left out")
    reminted: bool = Field(
        description="the file came from another tenant: its log and turn ids were re-minted for this one"
    )

    @classmethod
    def from_library(cls, report: ImportReport, *, dropped: int, reminted: bool) -> ImportResult:
        return cls(
            records=report.records,
            added=report.added,
            skipped=report.skipped,
            turns=report.turns,
            written=dict(report.written),
            dropped=dropped,
            reminted=reminted,
        )


class ConsolidateResponse(BaseModel):
    written: dict[str, int]
    removed: dict[str, int]

    @classmethod
    def from_library(cls, report: ConsolidationReport) -> ConsolidateResponse:
        return cls(written=dict(report.written), removed=dict(report.removed))


class StatsResponse(BaseModel):
    tenant: str
    embedder: str
    counts: dict[str, int]

    @classmethod
    def from_library(cls, stats: Mapping[str, Any]) -> StatsResponse:
        """From :meth:`outcrop.Memory.stats`; its other keys (the store URL, which may hold
        credentials, and the LLM ledger) are left out."""
        return cls(tenant=stats["tenant"], embedder=stats["embedder"], counts=dict(stats["counts"]))


def _naive(moment: datetime | None) -> datetime | None:
    return to_naive_utc(moment) if moment is not None else None


class TimelineValue(BaseModel):
    """One value of a slot over time: valid from its fact's time until the next value's."""

    fact_id: str
    subject: str
    attribute: str
    value: str
    valid_from: datetime | None
    valid_to: datetime | None = Field(description="when a newer value took over; null while current")
    recorded_at: datetime | None = Field(description="when memory learned it (system time)")
    sources: list[str] = Field(description="the turns the fact was made from")
    superseded_by: str | None = Field(description="the fact that replaced it; null while current")
    current: bool
    single: bool = Field(description="false for a multi-valued slot (likes, activities), whose values all hold")

    @classmethod
    def from_library(cls, value: SlotValue) -> TimelineValue:
        return cls(
            fact_id=value.fact_id,
            subject=value.subject,
            attribute=value.attribute,
            value=value.value,
            valid_from=_naive(value.valid_from),
            valid_to=_naive(value.valid_to),
            recorded_at=_naive(value.recorded_at),
            sources=list(value.sources),
            superseded_by=value.superseded_by,
            current=value.current,
            single=value.single,
        )


class TimelineResponse(BaseModel):
    values: list[TimelineValue] = Field(description="oldest first")

    @classmethod
    def from_library(cls, values: Sequence[SlotValue]) -> TimelineResponse:
        return cls(values=[TimelineValue.from_library(value) for value in values])
