"""The dataset-neutral shape every benchmark loader produces and the runner consumes.

A :class:`EvalCase` is one haystack replayed into its own fresh store (a LoCoMo conversation, or
one LongMemEval question with its own history); its questions name their evidence by *key*: a
turn key (``"D8:6"``, ``"sess_3#2"``) or, for session-level evidence, a session id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["EvalCase", "EvalQuestion", "EvalSession"]


@dataclass(frozen=True)
class EvalSession:
    """One session: messages ready for ``Memory.add`` and one evidence key per message."""

    session_id: str
    timestamp: str | None
    messages: tuple[dict[str, Any], ...]
    keys: tuple[str, ...]


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answer: str | None
    category: str
    scored: bool  # counts towards the overall figures (LoCoMo adversarial / LongMemEval abstention do not)
    evidence: tuple[str, ...]  # turn keys, or session ids when evidence_level == "session"
    evidence_level: Literal["turn", "session"] = "turn"
    skipped_evidence: tuple[str, ...] = ()  # ids in the data that name no turn (counted, not scored)
    question_date: str | None = None


@dataclass(frozen=True)
class EvalCase:
    """A haystack and the questions asked of it; ``case_id`` is also the ``user_id`` scope."""

    case_id: str
    sessions: tuple[EvalSession, ...]
    questions: tuple[EvalQuestion, ...]
    skipped_questions: int = 0  # questions with no usable evidence at all
    skipped_question_evidence: int = 0  # the ids those questions named (none names a turn)

    def session_of(self) -> dict[str, str]:
        """Turn key → session id."""
        return {key: s.session_id for s in self.sessions for key in s.keys}
