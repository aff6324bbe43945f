"""Citations in an LLM's answer, mapped back to the context's items (no LLM needed)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from outcrop.api.answer import _resolve
from outcrop.core.types import Context, Hit, Level
from outcrop.llm.prompts.answer import AnswerReply


def _context() -> Context:
    items = [Hit(id=f"t_0{n}abcdefgh", text=f"line {n}", score=1.0, level=Level.TURN) for n in (1, 2, 3)]
    return Context(text="", items=items, tokens=10, max_tokens=100, query="q")


def test_references_ids_and_prefixes_resolve_and_odd_ones_are_unknown() -> None:
    context = _context()
    assert context.item_for(2) is context.items[1] and context.item_for("[3]") is context.items[2]
    assert context.item_for("4") is None and context.item_for("0") is None
    found, unknown = _resolve(["[1], [3]", "(2)", "t_01abcdefgh", "t_02abc", "²", "9" * 5000, "t_invented"], context)
    assert found == ["t_01abcdefgh", "t_03abcdefgh", "t_02abcdefgh"]
    assert unknown == ["²", "9" * 5000, "t_invented"]


def test_reply_citations_may_be_numbers_or_one_bare_citation() -> None:
    assert AnswerReply.model_validate({"answer": "Boston", "citations": [1, 2.0, "3"]}).citations == ["1", "2", "3"]
    assert AnswerReply.model_validate({"answer": "Boston", "citations": 4}).citations == ["4"]
    with pytest.raises(ValidationError):
        AnswerReply.model_validate({"answer": "Boston", "citations": [True]})
