"""What ``forget`` hands back: the ids removed per level and the verification result.

A receipt never repeats the forgotten content: it lists ids and counts, and only names a term
when that term was found still stored (a leak), where it is no secret any more.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from outcrop.core.types import Scope

__all__ = ["ForgetReceipt", "Leak", "Verification"]


class Leak(BaseModel):
    """A surviving item that still holds forgotten content or cites a forgotten id."""

    item_id: str
    level: str
    found_by: str  # "term", "phrase", "source" or "metadata"
    term: str | None = None


class Verification(BaseModel):
    """The search run after the forget: every distinctive term and exact phrase of the forgotten
    content, lexically over every level of the tenant, own text and neighbour context; the
    provenance edges and metadata of surviving items; the log and items by id."""

    passed: bool
    terms_checked: int = 0
    phrases_checked: int = 0
    leaks: list[Leak] = Field(default_factory=list)
    remaining: list[str] = Field(default_factory=list)  # forgotten ids still readable by id


class ForgetReceipt(BaseModel):
    scope: Scope
    plan: str = ""  # the id of the forget's plan (ForgetPlan), kept by the store until verified
    removed: dict[str, list[str]] = Field(default_factory=dict)  # "log" and each level -> ids
    recomputed: dict[str, list[str]] = Field(default_factory=dict)  # kept ids whose content was redone
    written: dict[str, int] = Field(default_factory=dict)  # new items the recomputation wrote, per level
    verification: Verification
    scrub: dict[str, Any] = Field(default_factory=dict)
    already_forgotten: list[str] = Field(default_factory=list)  # ids an earlier forget erased: nothing to do
    resumed: list[str] = Field(default_factory=list)  # plans of forgets cut short, completed by this one

    @property
    def ok(self) -> bool:
        return self.verification.passed

    def count(self) -> dict[str, int]:
        return {key: len(ids) for key, ids in self.removed.items()}
