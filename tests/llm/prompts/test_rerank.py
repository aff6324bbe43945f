"""The listwise rerank prompt."""

from __future__ import annotations

import re

from outcrop.llm.prompts import rerank


def test_the_reply_form_names_no_candidate() -> None:
    """Version 1 showed the reply as {"ranking": [2, 5, 1]}: the bundled 0.5B model answered every
    question with exactly those numbers, so candidates 2, 5 and 1 went to the front whatever was asked.
    The instructions after the candidates may name no number a model could copy."""
    candidates = [f"memory {word}" for word in ("one", "two", "three", "four", "five", "six")]
    content = rerank.messages("Where did Maya move?", candidates)[1]["content"]
    listed, instructions = content.split("[6] memory six", 1)
    assert "[1] memory one" in listed
    assert not re.search(r"\d", instructions)
    assert rerank.PROMPT.version >= 2
