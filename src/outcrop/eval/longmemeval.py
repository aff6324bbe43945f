"""LongMemEval loader (``longmemeval_s.json`` / ``_m`` / ``_oracle`` layout).

The file is a JSON list of questions, each with its own history::

    {"question_id": "e47becba", "question_type": "single-session-user",
     "question": "What degree did I graduate with?", "answer": "Business Administration",
     "question_date": "2023/05/30 (Tue) 23:40",
     "haystack_session_ids": ["sharegpt_yywfMrF_0", ...], "haystack_dates": ["2023/05/20 (Sat) 02:21", ...],
     "haystack_sessions": [[{"role": "user", "content": "...", "has_answer": true}, ...], ...],
     "answer_session_ids": ["answer_280352e9"]}

Each question becomes its own :class:`EvalCase`. Evidence is turn-level (the turns marked
``has_answer``); a question with no marked turn falls back to session-level evidence (its
``answer_session_ids``). Question ids ending in ``_abs`` are abstention questions, reported apart
from the overall figures. Empty turns are skipped (they cannot be stored) and counted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from outcrop.core.jsontext import parse_json
from outcrop.core.time.clock import parse_time
from outcrop.errors import InvalidInputError
from outcrop.eval.cases import EvalCase, EvalQuestion, EvalSession

__all__ = ["ABSTENTION", "QUESTION_TYPES", "load_longmemeval"]

QUESTION_TYPES = (
    "single-session-user",
    "single-session-assistant",
    "single-session-preference",
    "multi-session",
    "knowledge-update",
    "temporal-reasoning",
)
ABSTENTION = "abstention"
_REQUIRED = ("question_id", "question_type", "question", "answer", "haystack_sessions", "haystack_dates")


def load_longmemeval(path: str | Path, *, types: Sequence[str] | None = None) -> list[EvalCase]:
    """All questions of the file, validated; ``types`` keeps only those ``question_type``s
    (``"abstention"`` selects the ``_abs`` questions)."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read LongMemEval file {path}: {exc.strerror}") from None
    data = parse_json(text, f"LongMemEval file {path}")
    if not isinstance(data, list):
        raise InvalidInputError(f"LongMemEval file {path} must hold a JSON list of questions")
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for index, raw in enumerate(data):
        case, question_type = _case(raw, index)
        if case.case_id in seen:
            raise InvalidInputError(f"LongMemEval question_id {case.case_id!r} occurs twice")
        seen.add(case.case_id)
        abstention = case.case_id.endswith("_abs")
        if not types or question_type in types or (abstention and ABSTENTION in types):
            cases.append(case)
    return cases


def _fail(where: str, problem: str) -> InvalidInputError:
    return InvalidInputError(f"LongMemEval {where}: {problem}")


def _case(raw: Any, index: int) -> tuple[EvalCase, str]:
    where = f"item {index}"
    if not isinstance(raw, dict):
        raise _fail(where, f"must be an object, got {type(raw).__name__}")
    if raw.get("question_id"):
        where = f"item {index} ({raw['question_id']})"
    missing = [key for key in _REQUIRED if key not in raw or raw[key] is None]
    if missing:
        raise _fail(where, f"missing field(s) {', '.join(missing)}")
    qid = str(raw["question_id"])
    sessions_raw, dates = raw["haystack_sessions"], raw["haystack_dates"]
    if not isinstance(sessions_raw, list) or not isinstance(dates, list):
        raise _fail(where, "haystack_sessions and haystack_dates must be lists")
    if len(dates) != len(sessions_raw):
        raise _fail(where, f"{len(sessions_raw)} haystack_sessions but {len(dates)} haystack_dates")
    session_ids = raw.get("haystack_session_ids") or [f"session_{n}" for n in range(1, len(sessions_raw) + 1)]
    if not isinstance(session_ids, list) or len(session_ids) != len(sessions_raw):
        raise _fail(where, f"{len(sessions_raw)} haystack_sessions but {len(session_ids)} haystack_session_ids")
    for name in ("question", "question_type"):
        if not isinstance(raw[name], str) or not raw[name].strip():
            raise _fail(where, f"{name} must be a non-empty string")
    question_date = raw.get("question_date")
    _time(question_date, where, "question_date")

    sessions: list[EvalSession] = []
    marked: list[str] = []
    given = {str(raw_sid) for raw_sid in session_ids}
    used_ids: set[str] = set()
    for s_index, (turns, date, raw_sid) in enumerate(zip(sessions_raw, dates, session_ids, strict=True)):
        sid = str(raw_sid)
        if sid in used_ids:  # a repeated session id still gets its own scope and keys, one no id given holds
            n = 2
            while f"{sid}~{n}" in used_ids or f"{sid}~{n}" in given:
                n += 1
            sid = f"{sid}~{n}"
        used_ids.add(sid)
        if not isinstance(turns, list):
            raise _fail(where, f"haystack_sessions[{s_index}] must be a list of turns")
        if not isinstance(date, str):
            raise _fail(where, f"haystack_dates[{s_index}] must be a date string such as 2023/05/20 (Sat) 02:21")
        _time(date, where, f"haystack_dates[{s_index}]")
        messages, keys = [], []
        for t_index, turn in enumerate(turns):
            turn_where = f"haystack_sessions[{s_index}][{t_index}]"
            if not isinstance(turn, dict):
                raise _fail(where, f"{turn_where} must be an object with role and content")
            role, content = turn.get("role"), turn.get("content")
            if not isinstance(role, str) or not role.strip():
                raise _fail(where, f"{turn_where} has no 'role'")
            if not isinstance(content, str):
                raise _fail(where, f"{turn_where} has no 'content' string")
            if not content.strip():
                continue  # nothing to remember; it cannot be evidence either
            key = f"{sid}#{t_index + 1}"
            messages.append({"role": role, "content": content, "metadata": {"turn": key}})
            keys.append(key)
            if turn.get("has_answer") is True:
                marked.append(key)
        if messages:
            sessions.append(EvalSession(sid, date, tuple(messages), tuple(keys)))

    category = ABSTENTION if qid.endswith("_abs") else str(raw["question_type"])
    known_sessions = {s.session_id for s in sessions}
    evidence: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    if marked:
        evidence, level = tuple(marked), "turn"
    else:
        answer_sessions = raw.get("answer_session_ids") or []
        if not isinstance(answer_sessions, list):
            raise _fail(where, "answer_session_ids must be a list")
        wanted = [str(s) for s in answer_sessions]
        evidence = tuple(dict.fromkeys(s for s in wanted if s in known_sessions))
        skipped = tuple(s for s in wanted if s not in known_sessions)
        level = "session"
    answer = raw["answer"]
    question = EvalQuestion(
        id=qid,
        question=raw["question"],
        answer=answer if isinstance(answer, str) else json.dumps(answer),
        category=category,
        scored=category != ABSTENTION,
        evidence=evidence,
        evidence_level="turn" if level == "turn" else "session",
        skipped_evidence=skipped,
        question_date=None if question_date is None else str(question_date),
    )
    case = EvalCase(
        case_id=qid,
        sessions=tuple(sessions),
        questions=(question,) if evidence else (),
        skipped_questions=0 if evidence else 1,
        skipped_question_evidence=0 if evidence else len(skipped),
    )
    return case, str(raw["question_type"])


def _time(value: Any, where: str, name: str) -> None:
    if value is None:
        return
    try:
        parse_time(value)
    except InvalidInputError as exc:
        raise _fail(where, f"{name}: {exc}") from None
