"""The LLM path: one OpenAI-compatible client, versioned prompts with typed replies, a ledger.

Everything here is optional: memstrata runs without an LLM, and with one (``llm.base_url`` and
``llm.model`` set) each producer, the reranker and :meth:`memstrata.Memory.answer` can use it.
"""

from __future__ import annotations

from memstrata.config import LLMConfig
from memstrata.llm.base import LLM, Completion, Message
from memstrata.llm.ledger import Ledger, LedgerEntry
from memstrata.llm.structured import Generated, generate

__all__ = ["LLM", "Completion", "Generated", "Ledger", "LedgerEntry", "Message", "generate", "open_llm"]


def open_llm(config: LLMConfig) -> LLM | None:
    """The client for ``config``, or None when no LLM is configured."""
    if not config.configured:
        return None
    from memstrata.llm.client import OpenAICompatLLM

    return OpenAICompatLLM(config)
