"""LoCoMo (``locomo10.json`` layout) loader: conversations and questions with parsed evidence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outcrop.core.formats import Batch, locomo_message, locomo_sessions
from outcrop.core.jsontext import parse_json
from outcrop.core.values import validate_name
from outcrop.errors import InvalidInputError
from outcrop.eval.cases import EvalCase, EvalQuestion, EvalSession

__all__ = ["CATEGORIES", "SCORED", "LocomoQuestion", "LocomoSample", "load_locomo", "locomo_cases"]

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
SCORED = (1, 2, 3, 4)  # overall figures are over these; adversarial (5) is reported on its own
_DIA_ID = re.compile(r"^D(\d+):(\d+)$")


@dataclass(frozen=True)
class LocomoQuestion:
    sample_id: str
    index: int
    question: str
    answer: str | None
    category: int
    evidence: tuple[str, ...]  # dia_ids that name real turns
    skipped_evidence: tuple[str, ...]  # malformed ids or ids of turns that do not exist

    @property
    def category_name(self) -> str:
        return CATEGORIES.get(self.category, str(self.category))


@dataclass(frozen=True)
class LocomoSample:
    sample_id: str
    speakers: tuple[str, str]
    batches: tuple[Batch, ...]  # one per session, ready for Memory.add
    questions: tuple[LocomoQuestion, ...]
    turn_ids: frozenset[str]


def _split_evidence(raw: Any) -> list[str]:
    values = raw if isinstance(raw, list) else [raw]
    parts: list[str] = []
    for value in values:
        parts.extend(p for p in re.split(r"[;,\s]+", str(value)) if p)
    return parts


def _category(value: Any, sample_id: str, index: int) -> int:
    """A category is a whole number (``1``, ``"2"``): ``true``, ``2.7`` or ``1e400`` is refused,
    not read as 1, 2 or an overflow."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidInputError(f"LoCoMo sample {sample_id}: qa item {index} has category {str(value)[:40]!r}")


def load_locomo(path: str | Path) -> list[LocomoSample]:
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read LoCoMo file {path}: {exc.strerror or exc}") from None
    data = parse_json(text, f"LoCoMo file {path}")
    samples = [_sample(raw, index) for index, raw in enumerate(data if isinstance(data, list) else [data])]
    seen: set[str] = set()
    for sample in samples:  # questions and report rows are named by it: two samples would mix
        if sample.sample_id in seen:
            raise InvalidInputError(f"LoCoMo file {path}: two samples have the sample_id {sample.sample_id!r}")
        seen.add(sample.sample_id)
    return samples


def _sample(raw: Any, index: int) -> LocomoSample:
    conversation = raw.get("conversation") if isinstance(raw, dict) else None
    if not isinstance(conversation, dict):
        raise InvalidInputError(f"LoCoMo sample {index} has no conversation")
    sample_id = _sample_id(raw, index)
    batches = []
    turn_ids: set[str] = set()
    for number, turns, date in locomo_sessions(conversation):
        batches.append(
            Batch(
                messages=_messages(turns, sample_id, number, turn_ids),
                user_id=sample_id,
                session_id=f"session_{number}",
                timestamp=date,
            )
        )
    return LocomoSample(
        sample_id=sample_id,
        speakers=(str(conversation.get("speaker_a")), str(conversation.get("speaker_b"))),
        batches=tuple(batches),
        questions=_questions(raw.get("qa", []), sample_id, turn_ids),
        turn_ids=frozenset(turn_ids),
    )


def _sample_id(raw: dict[str, Any], index: int) -> str:
    """The sample id, checked here as the ``user_id`` it becomes: one with a control character was
    echoed raw to the terminal, then refused by ``Memory.add`` mid-run without naming the sample."""
    sample_id = str(raw.get("sample_id") or f"sample-{index}")
    validate_name(sample_id, f"LoCoMo sample {index}: sample_id {sample_id[:40]!r}")
    return sample_id


def _messages(turns: list[Any], sample_id: str, number: int, seen: set[str]) -> list[dict[str, Any]]:
    """The session's turns as messages, each checked; ``seen`` collects the conversation's dia_ids.

    A turn is refused, not skipped, as the other malformed parts of a sample are: a null text was
    stored as "None", a blank one failed the whole run later without naming the turn, and a
    dia_id given twice made the evidence that names it ambiguous."""
    messages = []
    for position, turn in enumerate(turns):
        if not isinstance(turn, dict) or not turn.get("dia_id"):
            raise InvalidInputError(f"LoCoMo sample {sample_id}: turn {position} of session_{number} needs a 'dia_id'")
        dia_id = str(turn["dia_id"])
        where = f"LoCoMo sample {sample_id}: turn {dia_id!r} of session_{number}"
        if dia_id in seen:
            raise InvalidInputError(
                f"LoCoMo sample {sample_id}: dia_id {dia_id!r} names two turns (again in session_{number}),"
                " so evidence naming it would be ambiguous"
            )
        seen.add(dia_id)
        if not isinstance(turn.get("text"), str):
            raise InvalidInputError(f"{where} has {_kind(turn)} 'text': it must be a string")
        message = locomo_message(turn)
        if not message["content"].strip():
            raise InvalidInputError(f"{where} has an empty 'text' and no image caption: nothing to remember")
        # what the memory would refuse mid-run without naming the turn: refused here, naming it
        validate_name(turn.get("speaker"), f"{where}: 'speaker'")
        try:
            message["content"].encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInputError(f"{where}: 'text' is not valid Unicode (position {exc.start})") from None
        messages.append(message)
    return messages


def _kind(turn: dict[str, Any]) -> str:
    """What a turn's non-string ``text`` is, in JSON's words."""
    if "text" not in turn:
        return "no"
    value = turn["text"]
    if value is None:
        return "a null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list) else "an object"


def _questions(qa_items: Any, sample_id: str, turn_ids: set[str]) -> tuple[LocomoQuestion, ...]:
    """The sample's questions; evidence ids that name no turn are kept apart (skipped and counted):
    the published file has some, and a question is still asked if one of its ids is real."""
    if not isinstance(qa_items, list):
        raise InvalidInputError(f"LoCoMo sample {sample_id}: 'qa' must be a list")
    questions = []
    for q_index, qa in enumerate(qa_items):
        if not isinstance(qa, dict) or "question" not in qa or "category" not in qa:
            raise InvalidInputError(f"LoCoMo sample {sample_id}: qa item {q_index} needs 'question' and 'category'")
        evidence: list[str] = []
        skipped: list[str] = []
        for dia_id in _split_evidence(qa.get("evidence", [])):
            (evidence if _DIA_ID.match(dia_id) and dia_id in turn_ids else skipped).append(dia_id)
        answer = qa.get("answer")
        questions.append(
            LocomoQuestion(
                sample_id=sample_id,
                index=q_index,
                question=str(qa["question"]),
                answer=None if answer is None else str(answer),
                category=_category(qa["category"], sample_id, q_index),
                evidence=tuple(dict.fromkeys(evidence)),
                skipped_evidence=tuple(skipped),
            )
        )
    return tuple(questions)


def locomo_cases(samples: Sequence[LocomoSample], categories: Sequence[int] = (1, 2, 3, 4, 5)) -> list[EvalCase]:
    """One case per conversation, keyed by ``dia_id``, with the questions of ``categories`` that
    name at least one real turn (those that name none are counted in ``skipped_questions``)."""
    cases = []
    for sample in samples:
        sessions = tuple(
            EvalSession(
                session_id=str(batch.session_id),
                timestamp=batch.timestamp,
                messages=tuple(batch.messages),
                keys=tuple(str(m["metadata"]["dia_id"]) for m in batch.messages),
            )
            for batch in sample.batches
        )
        chosen = [q for q in sample.questions if q.category in categories]
        questions = tuple(
            EvalQuestion(
                id=f"{sample.sample_id}#{q.index}",
                question=q.question,
                answer=q.answer,
                category=q.category_name,
                scored=q.category in SCORED,
                evidence=q.evidence,
                skipped_evidence=q.skipped_evidence,
            )
            for q in chosen
            if q.evidence
        )
        dropped = [q for q in chosen if not q.evidence]
        cases.append(
            EvalCase(
                sample.sample_id,
                sessions,
                questions,
                skipped_questions=len(dropped),
                skipped_question_evidence=sum(len(q.skipped_evidence) for q in dropped),
            )
        )
    return cases
