"""Result models the handle itself makes (the engine's parts make the others)."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["IngestReport"]


class IngestReport(BaseModel):
    """What :meth:`outcrop.Memory.ingest` did with a file."""

    file: str
    batches: int  # sessions (or runs of lines) written one transaction each
    messages: int = 0
    added: int = 0
    already_present: int = 0  # held before: ingesting a file again adds nothing
