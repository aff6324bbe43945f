"""What the mem0 shim raises and warns, inside outcrop's error tree.

mem0 raises ``ValueError`` for a bad argument and for an unknown id; the shim's errors are
outcrop errors that are also ``ValueError``, so code written for mem0 catches them unchanged.
"""

from __future__ import annotations

from outcrop.errors import NotFoundError

__all__ = ["Mem0CompatWarning", "MemoryNotFoundError"]


class MemoryNotFoundError(NotFoundError, ValueError):
    """No memory with this id (mem0 raises ``ValueError`` here; outcrop a :class:`NotFoundError`)."""


class Mem0CompatWarning(UserWarning):
    """A mem0 argument or configuration section the shim accepts but cannot honour as mem0 would
    (``infer=True`` without mem0's extraction, ``rerank`` without a reranker, mem0 provider
    sections); the message says what the shim does instead (docs/integrations/mem0.md)."""
