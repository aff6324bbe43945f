"""The LLM path: one OpenAI-compatible client, versioned prompts with typed replies, a ledger.

Everything here is optional: outcrop runs without an LLM, and with one (``llm.base_url`` and
``llm.model`` set) each producer, the reranker and :meth:`outcrop.Memory.answer` can use it.
"""

from __future__ import annotations

from outcrop.config import LLMConfig
from outcrop.llm.base import LLM, Completion, Message
from outcrop.llm.ledger import Ledger, LedgerEntry
from outcrop.llm.structured import Generated, generate

__all__ = ["LLM", "Completion", "Generated", "Ledger", "LedgerEntry", "Message", "generate", "open_llm"]


def open_llm(config: LLMConfig) -> LLM | None:
    """The client for ``config``, or None when no LLM is configured."""
    if not config.configured:
        return None
    from outcrop.llm.client import OpenAICompatLLM

    return OpenAICompatLLM(config)
