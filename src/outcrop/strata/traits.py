"""Trait views: per participant, what they said about themselves that an inference rests on.

"What job might Maria pursue?", "Would Melanie prefer a national park or a theme park?", "What
attributes describe John?": the turns that answer such questions share no word with them (59% of
LoCoMo's open-domain evidence, ../shared/RETRIEVAL-NOTES.md). They are the turns where a person
says what they want, love, care about, keep doing, where they live and work, what their family and
health are ("I'm keen on counseling", "We always look forward to our family camping trip", "I'm
allergic to most animals with fur", "I spent some time at the shelter volunteering"). Rules read
those statements from a scope's facts (first person already written as the speaker's name, "you"
as the listener's, so a listener's "you're so thoughtful" is a trait of the one addressed) and join
them across sessions: one view per (participant, kind of trait), with every statement dated and
sourced, the themes that come back across sessions counted, and what no longer holds kept as
history ("gave up on", "no longer", "used to": ``ended``; "never wanted to": ``negated``).

A view is an L3 item (``kind: "trait"``) whose text shows its most recurrent current statements
and, after them, what ended or was denied; its ``entries`` (metadata) list every statement with its
fact, date, status, themes and source turns, which the trait channel (retrieve/traits.py) ranks
for a question. Views are rebuilt with the topics, so forgetting a turn removes its lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from outcrop.core.documents import spoken_date
from outcrop.core.text import content_terms
from outcrop.core.types import Item
from outcrop.strata.base import TopicDraft

__all__ = ["KINDS", "TraitStatement", "TraitViews", "classify"]

_ADVERBS = (
    r"(?:\s+(?:really|also|just|still|always|definitely|truly|actually|so|now|even|totally|kind of|never|not|"
    r"no longer|hardly|do not|does not|did not|don't|doesn't|didn't|don’t|doesn’t|didn’t))*"
)
_NEGATION = re.compile(r"\b(?:never|not|no longer|hardly)\b|n['’]t\b", re.I)

# kind → (title, pattern); ``{S}`` is the subject (the name, "I", "we"), ``{P}`` its possessive.
_KIND_PATTERNS: dict[str, tuple[str, str]] = {
    "aspiration": (
        "wants and plans",
        r"{S}{A}(?:\s+(?:would|'d))?\s+(?:wants?|wanted|wanna|hopes?|hoped|wish(?:es)?|plans?|intends?|aims?|dreams?|"
        r"love to|decided|(?:is|am|'m|was|has been|'ve been)\s+(?:thinking|considering|planning|hoping|looking into|"
        r"keen|aiming|going to|determined|eager|working toward))\b|"
        r"\b{P}\s+(?:\w+\s+)?(?:dreams?|goals?|plans?|aspirations?|ambitions?|hopes?)\b|\b(?:someday|one day|in the future)\b",
    ),
    "work": (
        "work and study",
        r"\b{P}\s+(?:\w+\s+)?(?:jobs?|work|career|degree|major|studies|boss|company|business|coworkers?|colleagues?|"
        r"class(?:es)?|students?|clients?|shifts?)\b|{S}{A}\s+(?:works?|worked|studies|studied|teach(?:es)?|taught)\b|"
        r"\b(?:career|degree|university|college|promotion|internship|profession|policymaking|military|office)\b",
    ),
    "helping": (
        "helping others",
        r"\b(?:volunteer\w*|charit\w*|fundrais\w*|donat\w*|shelters?|give back|giving back|"
        r"make (?:a|an) (?:\w+\s+)?(?:difference|impact)|help(?:s|ing|ed)? (?:people|others|those|kids|children|out|the "
        r"community|families)|community|activis\w*|support groups?|mentor\w*|counsel\w*)\b",
    ),
    "likes": (
        "loves and likes",
        r"{S}{A}\s+(?:loves?|loved|likes?|liked|enjoys?|enjoyed|adores?|(?:is|am|'m|was)\s+(?:a (?:big |huge )?fan|into|"
        r"passionate|obsessed|fascinated|awed|in awe|keen))\b|\b{P}\s+(?:\w+\s+)?(?:favou?rites?|passion|love)\b|"
        r"\bbrings? (?:\w+ )?(?:joy|peace|happiness)\b|\bfan of\b|\bturns? to\b",
    ),
    "values": (
        "what matters to them",
        r"\b(?:means?|meant) (?:a lot|so much|the world|everything)\b|\bimportant to\b|"
        r"{S}{A}\s+(?:cares?|cared|believes?|values?)\b|\bmatters? to\b|\b(?:grateful|thankful|proud|faith|church|"
        r"religio\w+|conservatives?|liberal|politic\w*|acceptance|rights)\b",
    ),
    "character": (
        "character",
        r"{S}{A}\s+(?:is|are|was|'s|seems?)\s+(?:\w+\s+)?(?:so |really |very |such (?:a |an )?|always )?(?:thoughtful|kind|"
        r"caring|brave|strong|generous|driven|determined|creative|talented|patient|selfless|inspiring|resilient|"
        r"supportive|real|authentic|genuine|honest|dedicated|hard-?working|smart|funny|positive|calm|compassionate|"
        r"empathetic|ambitious|loyal|organi[sz]ed|adventurous|outgoing|shy|introverted|independent|"
        r"responsible)\b|\b{P}\s+(?:\w+\s+)?(?:drive|kindness|courage|strength|dedication|determination|creativity|"
        r"talent|compassion|resilience|positivity|generosity|honesty|enthusiasm|spirit)\b",
    ),
    "habits": (
        "habits",
        r"{S}{A}\s+(?:always|usually|often|regularly)\b|\bevery (?:day|week|morning|evening|night|weekend|summer|winter|"
        r"year|time)\b|\bwhenever\b|\btraditions?\b|\broutine\b|\bused to\b",
    ),
    "family": (
        "family",
        r"\b{P}\s+(?:\w+\s+)?(?:family|fam|kids?|children|son|daughters?|husband|wife|partner|mom|mother|dad|father|"
        r"parents|brothers?|sisters?|siblings|grand\w+|aunt|uncle|cousins?)\b",
    ),
    "health": (
        "health",
        r"\b(?:allerg\w*|injur\w*|sick|diagnos\w*|therapy|doctor|hospital|health|healthy|surgery|pain|anxiety|"
        r"depress\w*|stress\w*|diet|asthma)\b",
    ),
    "home": (
        "home and places",
        r"{S}{A}\s+(?:lives?|lived|moved|grew up|(?:is|am|'m) from)\b|\b{P}\s+(?:\w+\s+)?(?:home|place|apartment|"
        r"house|city|hometown|country|neighbou?rhood|town)\b|\bnear (?:me|us|{P})\b",
    ),
}
KINDS: tuple[str, ...] = tuple(_KIND_PATTERNS)
_ENDED = re.compile(
    r"\b(?:gave up|given up|giving up|quit|stopped|no longer|used to|anymore|changed (?:\w+'s |my |his |her )?mind|"
    r"called off|dropped out|not (?:\w+ )?any more)\b",
    re.I,
)
_GENERIC = frozenset(
    "really also just like love want going thanks thank know think great good time things thing much lot well make "
    "made feel life little today week weekend last yesterday awesome amazing cool sure wow yeah hey glad happy so "
    "always every way ways new one day days year years month months kind".split()
)


@dataclass(frozen=True)
class TraitStatement:
    """One fact read as a trait of ``subject``: its kinds, its status and its themes."""

    subject: str
    fact: Item
    kinds: tuple[str, ...]
    status: str  # "current", "ended" (given up, no longer) or "negated" (never, not: every kind it states)
    themes: tuple[str, ...]
    negated: tuple[str, ...] = ()  # the kinds it denies ("never wanted to" denies a want, not a help)

    def status_for(self, kind: str) -> str:
        """The statement's status in the view of ``kind``."""
        if self.status == "ended" or kind not in self.negated:
            return self.status
        return "negated"


def _subject_patterns(name: str, speaker: bool) -> dict[str, re.Pattern[str]]:
    n = re.escape(name)
    subject = rf"\b(?:{n}|I|we)\b" if speaker else rf"\b{n}\b"
    possessive = rf"(?:{n}'s|{n}’s|my|our)" if speaker else rf"(?:{n}'s|{n}’s)"
    return {
        kind: re.compile(pattern.replace("{S}", subject).replace("{P}", possessive).replace("{A}", _ADVERBS), re.I)
        for kind, (_, pattern) in _KIND_PATTERNS.items()
    }


_PATTERNS: dict[tuple[str, bool], dict[str, re.Pattern[str]]] = {}


def classify(text: str, subject: str, *, speaker: bool) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """The trait kinds ``text`` states about ``subject`` (``speaker``: they said it themselves,
    so "I", "we", "my" are theirs too), its status (``current``, ``ended``, or ``negated`` when
    every kind it states is denied) and the kinds it denies."""
    patterns = _PATTERNS.get((subject, speaker))
    if patterns is None:
        patterns = _PATTERNS[(subject, speaker)] = _subject_patterns(subject, speaker)
    kinds: list[str] = []
    negated: list[str] = []
    for kind, pattern in patterns.items():
        found = pattern.search(text)
        if found is not None:
            kinds.append(kind)
            if _NEGATION.search(found.group()) is not None:
                negated.append(kind)
    if not kinds:
        return (), "current", ()
    if _ENDED.search(text):
        return tuple(kinds), "ended", tuple(negated)
    return tuple(kinds), "negated" if len(negated) == len(kinds) else "current", tuple(negated)


@dataclass
class _View:
    subject: str
    kind: str
    statements: list[TraitStatement] = field(default_factory=list)


class TraitViews:
    """``build(facts, participants)`` → one draft per (participant, kind of trait) (module docstring)."""

    id = "traits.rules@1"

    def __init__(self, lines: int = 8, min_statements: int = 2) -> None:
        self.lines = lines
        self.min_statements = min_statements

    def statements(self, facts: Sequence[Item], participants: Sequence[str]) -> list[TraitStatement]:
        """Every fact of ``facts`` read as a trait of one of ``participants``, in the facts' order."""
        people = [p for p in participants if p]
        names = {p.lower() for p in people} | {_theme(p) for p in people}  # "Jonas" is no theme, nor "jona"
        found: list[TraitStatement] = []
        for fact in facts:
            for person in people:
                said_by = fact.speaker == person
                if not said_by and not re.search(rf"\b{re.escape(person)}\b", fact.text):
                    continue
                if not said_by and not _addressed(fact.text, person, people):
                    continue
                if said_by and not _about_self(fact.text, person):
                    continue  # "Wow John, your enthusiasm is inspiring": about the listener
                kinds, status, negated = classify(fact.text, person, speaker=said_by)
                if kinds:
                    themes = tuple(
                        dict.fromkeys(t for t in (_theme(w) for w in content_terms(fact.text)) if t and t not in names)
                    )
                    found.append(TraitStatement(person, fact, kinds, status, themes, negated))
        return found

    def build(self, facts: Sequence[Item], participants: Sequence[str]) -> list[TopicDraft]:
        found = self.statements(facts, participants)
        if not found:
            return []
        sessions: dict[tuple[str, str], set[str | None]] = {}  # (subject, theme) → sessions it came up in
        for s in found:
            for theme in s.themes:
                sessions.setdefault((s.subject, theme), set()).add(s.fact.scope.session_id)
        spoke: dict[str, set[str | None]] = {}  # participant → sessions they spoke in
        for fact in facts:
            if fact.speaker:
                spoke.setdefault(fact.speaker, set()).add(fact.scope.session_id)
        views: dict[tuple[str, str], _View] = {}
        for s in found:
            for kind in s.kinds:
                views.setdefault((s.subject, kind), _View(s.subject, kind)).statements.append(s)
        drafts = [
            self._draft(view, sessions, max(1, len(spoke.get(view.subject, ()))))
            for view in views.values()
            if len(view.statements) >= self.min_statements
        ]
        return sorted(drafts, key=lambda d: d.key)

    def _draft(self, view: _View, sessions: dict[tuple[str, str], set[str | None]], spoke: int) -> TopicDraft:
        def recurrence(s: TraitStatement) -> int:
            return max((len(sessions[(s.subject, t)]) for t in s.themes), default=0)

        current = [s for s in view.statements if s.status_for(view.kind) == "current"]
        past = [s for s in view.statements if s.status_for(view.kind) != "current"]
        shown = sorted(current, key=lambda s: (-recurrence(s), -_time(s.fact).timestamp() if s.fact.timestamp else 0))
        shown = sorted(shown[: self.lines], key=lambda s: (_time(s.fact), s.fact.id))
        history = sorted(past, key=lambda s: (_time(s.fact), s.fact.id))[-max(1, self.lines // 4) :]
        themes = sorted(
            {t for s in view.statements for t in s.themes},
            key=lambda t: (-len(sessions[(view.subject, t)]), t),
        )
        recurring = [t for t in themes if len(sessions[(view.subject, t)]) >= 2][:6]
        title = _KIND_PATTERNS[view.kind][0]
        head = f"{view.subject} — {title}" + (f" (again and again: {', '.join(recurring)})" if recurring else "")
        text = f"{head}: " + "; ".join(_line(s) for s in shown)
        if history:
            text += ". No longer or never: " + "; ".join(_line(s) for s in history)
        times = [s.fact.timestamp for s in view.statements if s.fact.timestamp]
        members = [*shown, *history]
        return TopicDraft(
            key=f"trait:{view.subject}:{view.kind}",
            label=head,
            text=text,
            facts=[s.fact.id for s in view.statements],
            sources=list(dict.fromkeys(src for s in members for src in s.fact.sources)),
            start=min(times) if times else None,
            end=max(times) if times else None,
            entities=[view.subject],
            metadata={
                "kind": "trait",
                "subject": view.subject,
                "trait": view.kind,
                "themes": [{"theme": t, "sessions": len(sessions[(view.subject, t)])} for t in themes[:12]],
                "entries": [
                    {
                        "text": s.fact.text,
                        "fact": s.fact.id,
                        "time": s.fact.timestamp.isoformat() if s.fact.timestamp else None,
                        "status": s.status_for(view.kind),
                        "kinds": list(s.kinds),
                        "recurrence": recurrence(s),
                        "share": round(min(1.0, recurrence(s) / spoke), 3),
                        "sources": list(s.fact.sources),
                    }
                    for s in sorted(view.statements, key=lambda s: (_time(s.fact), s.fact.id))
                ],
            },
        )


def _addressed(text: str, person: str, people: Sequence[str]) -> bool:
    """Whether a fact someone else said is about ``person`` as its subject (a listener's "you're so
    thoughtful", written "Caroline is so thoughtful"): the name leads a clause."""
    return re.search(rf"(?:^|[,;.!?]\s*|\b(?:and|but|that)\s+){re.escape(person)}\b(?!'s)", text) is not None and all(
        p == person or not text.startswith(p) for p in people
    )


def _about_self(text: str, person: str) -> bool:
    """Whether a fact ``person`` said is about themselves: it names them (first person is written as
    the name). "Wow John, your enthusiasm is inspiring" and "Stories can truly make a difference"
    are not."""
    said = re.sub(rf"^{re.escape(person)}:\s+", "", text)  # "Maria: Talking together makes a difference"
    return re.search(rf"\b{re.escape(person)}\b|\b(?:I|me|my|we|us|our)\b", said) is not None


def _theme(word: str) -> str:
    w = word.lower().rstrip("'’")
    if len(w) < 4 or w in _GENERIC or not w.isalpha():
        return ""
    return w[:-1] if w.endswith("s") and not w.endswith("ss") else w


def _line(s: TraitStatement) -> str:
    text = s.fact.text.rstrip(" .")
    return f"[{spoken_date(s.fact.timestamp)}] {text}" if s.fact.timestamp else text


def _time(fact: Item) -> datetime:
    return fact.timestamp or datetime.min
