"""Relations between participants and entities by rules: typed, dated, sourced.

A relation is (subject, relation, object) with the object's kind, drawn from one fact: "Audrey
adopted a puppy named Pixie" → (Audrey, owns, Pixie, kind dog). Facts already name their speaker
and listener; :mod:`outcrop.strata.coref` resolves "he", "the pup", "Audrey's dog" and "there"
before the patterns are matched. Relations and their kinds:

``owns`` (pets), ``family`` (relatives: the kind is the role), ``works_at``, ``visited``, ``moved_to``,
``recommended`` (with ``to``: whom to), ``read``, ``made``, ``gave`` (with ``to``), ``bought``,
``attended`` (events, classes, groups, competitions won or entered), ``met``, ``does`` (activities),
``likes``, ``watched`` and ``mentions`` (titles: any quoted, capitalised title a participant says),
``shared`` (what a participant showed in a picture: :mod:`outcrop.strata.captions`) and ``plans``
(intentions: "I'm going to …", "next month I'll …", "let's meet at …": the plan's time is the date
its fact names).

A negated statement ("Audrey doesn't own a dog", "I wouldn't recommend that book") is kept as
``negated``, never as the relation; a later fact may end a relation (a pet that "passed away":
``ended``) or call off a plan ("we cancelled the trip": ``cancelled``).

:class:`RelationViews` aggregates relations per (subject, relation) into one L3 item each
(``kind: "relation"``, :class:`outcrop.core.payloads.RelationPayload`): "Audrey — owns: dog:
Pepper (since 3 March 2023), Pixie (since …)". Its sources are the turns of its facts, so deleting
or forgetting a turn re-derives the view without that line (the views are rebuilt from the
remaining facts with the topics).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from outcrop.core.documents import spoken_date
from outcrop.core.payloads import UNGROUPED_KINDS, FactPayload, RelationEntry, relation_object, relation_text
from outcrop.core.text import CHAT_WORDS, content_terms
from outcrop.core.types import Item
from outcrop.strata.activities import HOBBY, PASTIME
from outcrop.strata.base import TopicDraft
from outcrop.strata.captions import is_statement
from outcrop.strata.coref import PET_KINDS, Coreference, pet_kind

__all__ = ["RELATIONS", "Extraction", "Relation", "RelationExtractor", "RelationViews"]

RELATIONS = (
    "owns", "family", "works_at", "visited", "moved_to", "recommended", "read", "made", "gave", "bought", "attended", "met", "plans", "does",
    "likes", "shared", "watched", "mentions",
)  # fmt: skip

_PET = "|".join(sorted(PET_KINDS, key=len, reverse=True))
_NAME = r"(?-i:[A-Z][\w-]*\w(?!')(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w-]*\w(?!')){0,3})"
_TITLE = r"[\"“][^\"”]{2,60}[\"”]"
_MODS = r"(?:(?:new|little|cute|sweet|adorable|rescue|second|third|another|old|young|baby|furry|lovely)\s+)*"
_THING = (
    r"(?:(?:a|an|the|some|this|these|two|three|my|our|his|her|their)\s+)?[a-z][\w'+&-]*(?:\s+[\w'+&-]+){0,6}?"
    r"(?=\s+(?:and|but|because|since|when|with|so|which|for|last|next|this|on|at|to|in|from|yesterday|today|"
    r"tomorrow|ago|recently|lately|together|too|again|before|after|while|during|that|who|as)\b|\s*\(|[,.;!?:]|\s+-|$)"
)
_NEG = r"(?P<neg>(?:(?:does|do|did|would|will|could|has|have|is|was)(?:n't|\s+not)|don't|doesn't|didn't|won't|wouldn't|can't|never|no\s+longer|not)\s+)?"
_ADV = r"(?:(?:just|finally|recently|also|really|actually|already|even|still|totally|definitely|once|then|ever)\s+)*"
_FAMILY = (
    "son|daughter|brother|sister|husband|wife|partner|boyfriend|girlfriend|fiance|fiancee|mom|mother|dad|father|"
    "grandma|grandmother|grandpa|grandfather|cousin|aunt|uncle|niece|nephew|best friend|friend|boss|coworker|colleague|"
    "mentor|neighbor|roommate"
)
_EVENT = (
    r"(?:event|events|parade|festival|fair|concert|show|exhibit|exhibition|talk|speech|workshop|class|classes|seminar|"
    r"conference|convention|race|marathon|tournament|competition|match|game|recital|performance|gig|party|fundraiser|"
    r"ceremony|wedding|retreat|camp|meetup|meeting|rally|march|protest|auction|(?:food|blood|toy|charity)\s+drive|charity\s+\w+|gala|"
    r"hackathon|screening|reading|signing|group|club|team|program|programme|course)"
)
_COMPANY = (
    r"(?:(?:the|my|our|his|her|their)\s+|[A-Z][a-z]+'s\s+)?(?:(?:two|three|\d|younger|older|little)\s+)?(?:kids|children|"
    r"fam|family|son|sons|daughter|daughters|husband|wife|partner|boyfriend|girlfriend|friends?|dog|dogs|pup|puppy|"
    r"brother|sister|siblings|parents|mom|dad|grandkids|students|team|class)"
)
_NOT_ACTIVITY = (
    r"(?:being|having|going|getting|doing|trying|making|thinking|feeling|looking|saying|talking|planning|hoping|"
    r"wondering|wanting|telling|starting|seeing|coming|taking|keeping|putting|giving|finding|using|living|loving|"
    r"missing|something|anything|everything|nothing|thing|things|morning|evening|during|bring|king|ring|spring|"
    r"sing|wing|string|nothing|ceiling|building|feelings|anything|listening|waiting|hearing|knowing|needing|"
    r"happening|working|checking|reaching|struggling|dealing|handling|becoming|letting|sharing|helping|supporting|"
    r"spending|learning|following|figuring|catching|hanging|heading|leaving|moving|staying|showing|watching|"
    r"facing|falling|failing|bouncing|holding|discovering|sinking|pushing|escaping|meeting|caring|crying|"
    r"laughing|smiling|worrying|losing)\b"
)
_DET = r"(?:the|a|an|my|his|her|our|their|this|that|these|those|some|any|so|really|very|also|just|to|and|or|of)\b"
_KINWORD = r"(?:kids|children|fam|family|son|daughter|husband|wife|partner|boyfriend|girlfriend)"
_WON = r"(?:tournament|tourney|competition|contest|race|marathon|championship|match|game|league|cup|trophy|award|prize)"
_PLACE = (
    r"(?:beach|museum|park|zoo|lake|mountains|aquarium|library|gym|farm|river|forest|woods|countryside|coast|island|"
    r"desert|(?:botanical\s+)?garden|(?:art\s+)?gallery|theater|theatre|cinema|movies|mall|(?:farmers\s+)?market|pool|"
    r"spa|church|temple|stadium|ocean|sea|shore|trail|canyon|(?:national|amusement|theme|water)\s+park|waterfall|"
    r"countryside|vineyard|winery|lighthouse|castle|ruins|observatory|planetarium|arcade|bookstore|cafe|café|"
    r"restaurant|bar|club|concert|festival|fair|carnival|circus)"
)
# where an activity was done: one word ("in the mountains"), or up to three when the last names a place
# ("volunteering at a homeless shelter", not "at a homeless"; "at the park yesterday" stays "park", "in
# the rain after school" stays "rain")
_PREPOSITION = r"(?:after|before|at|in|on|with|to|for|from|by|near|during|of|and|or)\b"
_WHERE = (
    rf"(?:(?:(?!{_PREPOSITION})[\w-]+\s+){{1,2}}?(?:{_PLACE}|shelter|center|centre|school|hospital|camp|studio|hall|kitchen|class|"
    r"group|program|clinic|home|house|rink|court|field|track|range|station|office|store|shop)\b|[\w-]+)"
)
_OUTING = (
    r"(?:(?:road\s*)?trip|hike|walk|ride|bike\s+ride|cruise|tour|vacation|getaway|picnic|run|swim|camping\s+trip|"
    r"retreat|excursion|outing)"
)
# verbs that lead to a done activity: "Jon chose to go to networking events", "Melanie is off to go swimming"
_CHAIN = (
    r"(?:(?:chose|decided|got|managed|went|is\s+off|was\s+off|am\s+off|gets|get|loves?|likes?|used|"
    r"finally\s+got)\s+to\s+)?"
)
_UNREAL = re.compile(r"\b(?:if|unless|wish|wishes|wished)\b", re.I)
_PLAN_CUE = (
    r"(?:is|are)\s+(?:going|gonna)\s+to|(?:is|are)\s+gonna|will|(?:is|are)\s+planning\s+(?:to|on)|plans?\s+to|"
    r"intends?\s+to|hopes?\s+to|(?:is|are)\s+hoping\s+to|(?:is|are)\s+about\s+to|(?:is|are)\s+thinking\s+(?:about|of)|"
    r"(?:is|are)\s+looking\s+forward\s+to|(?:is|are)\s+aiming\s+to|(?:is|are)\s+set\s+to|(?:is|are)\s+scheduled\s+to"
)
_CANCEL = re.compile(
    r"\b(?:cancell?ed|cancel(?:s|ing)?|called\s+off|call(?:ing)?\s+off|postponed|fell\s+through|didn't\s+happen|"
    r"couldn't\s+(?:go|make\s+it)|can't\s+(?:go|make\s+it)|had\s+to\s+skip|won't\s+be\s+(?:going|able))\b",
    re.I,
)
# a quoted title: capitalised, at most eight words ("Little Women", "The Name of the Wind")
_QUOTED = re.compile(r"[\"“](?-i:([A-Z][^\"”.!?]{1,60}))[\"”]")
_NAMES_ARE = re.compile(
    rf"\b(?:[Tt]heir|[Tt]hey're|[Tt]hey\s+are)\s+(?:names\s+are|called|named)\s+(?P<o>{_NAME}(?:,\s*(?:and\s+)?{_NAME})*(?:,?\s+and\s+{_NAME})?)"
)
_LET = re.compile(
    r"\b(?:let's|let us)\s+(?P<o>(?:meet|grab|get|go|have|try|do|plan|visit|catch)\b[^,.;!?(]{3,80})", re.I
)
_DIED = re.compile(r"\b(?:died|passed\s+away|passed\s+on|was\s+put\s+down|had\s+to\s+be\s+put\s+down|is\s+gone|lost)\b")
_STOP = {"a", "an", "the", "some", "this", "these", "my", "our", "his", "her", "their", "two", "three"}
_NOT_HEADS = {
    "after", "before", "while", "when", "because", "if", "as", "so", "and", "but", "or", "to", "of", "in", "on", "at",
    "for", "with", "few", "lot", "bit", "couple", "little", "ton", "bunch", "great", "good", "nice", "big",
    "huge", "difference", "sure", "point", "chance", "look", "break", "call",
}  # fmt: skip
_NOT_MADE = {
    "appointment", "decision", "decisions", "mistake", "mistakes", "plan", "plans", "effort", "friends", "friend",
    "reservation", "call", "choice", "difference", "progress", "point", "change", "changes", "move", "deal", "list",
    "bit", "lot", "sense", "mess", "memories", "mems", "connections", "connection", "impact", "trip", "time",
}  # fmt: skip
_GENERIC = {
    "do", "get", "go", "make", "try", "have", "need", "see", "planning", "going", "doing", "getting", "trying", "keep",
    "take", "start", "definitely", "really", "just", "sure", "use", "used", "time", "things", "stuff", "more", "soon",
    "check", "look", "making", "checking", "looking",
}  # fmt: skip
# a plan's words that say nothing planned: chat ("ttyl"), with the generic words; a plan of only these is none
_CHAT_PLANS = CHAT_WORDS | {"ttyl", "ttys", "brb", "gtg", "cya"}
# keeping someone told is a promise, not a plan: "keep ya posted", "keep Tim updated", "let Nate know how
# it turns out", "get back to Andrew", "keep in touch", "reach out to Audrey if she needs more", "keep
# these tips in mind", "bear that in mind"
_TELLING = re.compile(
    r"^(?:keep|keeping)\s+(?:[\w']+\s+){0,3}?(?:posted|updated|informed|in\s+the\s+loop|in\s+touch)\b|"
    r"^(?:keep|keeping|bear|bearing)\s+(?:[\w']+\s+){0,5}?in\s+mind\b|"
    r"^let\s+(?:[\w']+\s+){1,3}?know\b|^(?:get|getting)\s+back\s+to\b|"
    r"^reach\s+out\s+(?:[\w']+\s+){0,3}?(?:if|when|whenever|any\s*time)\b",
    re.I,
)
# adverbs that open a plan's words ("will definitely check it out", "will make sure to spread the
# word", "will need to renew the passport", "will remember to book the flights"): left out of it
_PLAN_ADVERB = re.compile(
    r"^(?:(?:definitely|just|really|probably|surely|certainly|totally|actually|also|still|maybe|hopefully|"
    r"finally|soon|eventually|likely|possibly)\s+|(?:make\s+sure|need|remember)\s+to\s+)+",
    re.I,
)
# what a plan's words may not open with, its adverbs left out: a promise or a habit ("will never forget
# it", "will always remember the trip"), a plan not made ("will not go"), a state ("will probably be at
# the lake", "will definitely have a great time": the plan pattern's own exclusions), a need ("will need
# some new shoes"), a promise to remember ("will remember them if …"; "remember to …" is a plan)
_NOT_A_PLAN = {"never", "always", "forever", "not", "be", "have", "do", "it", "need", "needs", "remember"}
_NOT_LIKED = {
    "how", "what", "why", "when", "where", "who", "is", "it's", "that's", "being", "seeing", "hearing", "reading",
}  # fmt: skip
_VAGUE = {"it", "that", "this", "them", "something", "anything", "everything", "things", "lot", "one", "time", "way"}


@dataclass(frozen=True)
class Relation:
    """One relation drawn from one fact (see the module docstring)."""

    subject: str
    relation: str
    object: str
    fact: Item
    kind: str | None = None
    status: str = "asserted"  # asserted | negated
    to: str | None = None
    when: datetime | None = None  # the time the fact names (a plan's)


@dataclass
class Extraction:
    """What :meth:`RelationExtractor.extract` found: the relations, the coreference state at the
    end (pets by owner), and per fact id the names its pronouns and descriptions referred to."""

    relations: list[Relation]
    coref: Coreference
    mentions: dict[str, list[str]]
    ended: dict[tuple[str, str, str], Item] = field(default_factory=dict)  # (subject, relation, object key) -> fact
    resolved: dict[str, str] = field(default_factory=dict)  # fact id -> its text with the mentions named

    def ended_by(self, relation: Relation) -> Item | None:
        """The fact that ended ``relation`` (a pet's death, a plan called off), if any."""
        return self.ended.get((relation.subject, relation.relation, _key(relation.object)))


@dataclass
class _Pattern:
    relation: str
    regex: re.Pattern[str]
    kind: str | None = None


@functools.lru_cache(maxsize=64)
def _patterns(subject: str) -> list[_Pattern]:
    s = rf"(?P<s>{subject})\s+{_ADV}{_NEG}{_ADV}"
    out = [
        (
            "owns",
            rf"{s}(?:adopted|adopt|got|get|has|have|had|bought|buy|rescued|rescue|owns|own|welcomed|brought\s+home|"
            rf"took\s+in)\s+(?:a|an|another|two|three|our|her|his)?\s*{_MODS}(?P<k>{_PET})(?:\s*,)?\s+(?:named|called)\s+"
            rf"(?P<o>{_NAME})",
            None,
        ),
        (
            "owns",
            rf"{s}(?:adopted|adopt|got|get|has|have|bought|buy|rescued|rescue|owns|own)\s+(?:a|an|another)\s+{_MODS}"
            rf"(?P<k>{_PET})\b(?!\s*,?\s*(?:named|called))",
            None,
        ),
        ("owns", rf"(?P<s>{subject})'s\s+{_MODS}(?P<k>{_PET})(?:\s*,)?\s+(?:named\s+|called\s+)?(?P<o>{_NAME})", None),
        ("owns", rf"(?P<o>{_NAME}),\s+(?P<s>{subject})'s\s+{_MODS}(?P<k>{_PET})\b", None),
        # "Nate's turtles always cheer Nate up": a pet of a kind, unnamed here
        (
            "owns",
            rf"(?<!,\s)(?P<s>{subject})'s\s+{_MODS}(?P<k>{_PET})\b(?!\s*,?\s*(?:named\s+|called\s+)?(?-i:[A-Z]))",
            None,
        ),
        (
            "family",
            rf"(?P<s>{subject})'s\s+(?:\w+\s+)?(?P<k>{_FAMILY})\s+(?:named\s+|called\s+|is\s+)?(?P<o>{_NAME})(?!\s+and\b)",
            None,
        ),
        (
            "works_at",
            rf"{s}(?:works|worked|work|is\s+working|started\s+working|got\s+a\s+job|got\s+hired|interns?|interned|"
            rf"is\s+interning|volunteers|volunteered)\s+(?:at|for|with)\s+(?:the\s+)?(?P<o>{_NAME})",
            None,
        ),
        ("works_at", rf"(?P<s>{subject})'s\s+(?:new\s+)?job\s+at\s+(?:the\s+)?(?P<o>{_NAME})", None),
        (
            "visited",
            rf"{s}(?:visited|visit|went\s+(?:back\s+)?to|go\s+to|traveled\s+to|travelled\s+to|flew\s+to|toured|explored|"
            rf"took\s+a\s+(?:\w+\s+)?trip\s+to|went\s+on\s+a\s+(?:\w+\s+)?trip\s+to|got\s+back\s+from|is\s+back\s+from|"
            rf"returned\s+from|has\s+been\s+to)\s+(?:the\s+)?(?P<o>{_NAME})",
            "place",
        ),
        (
            "moved_to",
            rf"{s}(?:moved|move|is\s+moving|relocated|is\s+relocating)\s+(?:back\s+)?to\s+(?:the\s+)?(?P<o>{_NAME})",
            "place",
        ),
        (
            "recommended",
            rf"{s}(?:recommends|recommended|recommend|suggests|suggested|suggest)\s+(?:reading\s+|watching\s+|trying\s+|"
            rf"checking\s+out\s+|listening\s+to\s+)?(?P<o>{_TITLE}|{_NAME}|{_THING})(?:\s+to\s+(?P<to>{_NAME}))?",
            None,
        ),
        (
            "recommended",
            rf"(?P<to>{subject})\s+(?:should|has\s+to|needs\s+to|must)\s+(?:definitely\s+|really\s+)?(?P<v>read|watch|"
            rf"try|check\s+out|listen\s+to|visit|see)\s+(?P<o>{_TITLE}|{_NAME}|{_THING})",
            None,
        ),
        (
            "read",
            rf"{s}(?:read|reads|is\s+reading|finished|started\s+reading|loved\s+reading|re-?read)\s+(?:the\s+book\s+|the\s+"
            rf"novel\s+|a\s+book\s+called\s+)?(?P<o>{_TITLE})",
            "book",
        ),
        (
            "made",
            rf"{s}(?:made|make|baked|bake|cooked|cook|painted|paint|built|build|wrote|write|drew|draw|knitted|knit|"
            rf"crafted|created|create|designed|sewed|composed|carved|sculpted|finished|completed|is\s+making|is\s+painting|"
            rf"is\s+building|is\s+writing)\s+(?P<o>(?:a|an|some|this|these|that|those|two|three|another|(?P=s)'s)\s+"
            rf"{_THING}|{_TITLE})",
            None,
        ),
        (
            "gave",
            rf"{s}(?:gave|give|bought|got|sent|made)\s+(?P<to>{_NAME})\s+(?P<o>(?:a|an|some|this|these)\s+{_THING})",
            None,
        ),
        (
            "gave",
            rf"{s}(?:gave|give|sent|donated)\s+(?P<o>(?:a|an|some|this|these|the)\s+{_THING})\s+to\s+(?P<to>{_NAME}|the\s+{_THING})",
            None,
        ),
        (
            "bought",
            rf"{s}(?:bought|buy|purchased|ordered|got\s+(?:a\s+)?new)\s+(?P<o>(?:a|an|some|the|two|three|new)\s+{_THING})",
            None,
        ),
        (
            "attended",
            rf"{s}(?:attended|attend|went\s+to|go\s+to|joined|join|participated\s+in|took\s+part\s+in|signed\s+up\s+for|"
            rf"volunteered\s+at|competed\s+in|ran\s+in|performed\s+at|hosted|organized|organised)\s+(?P<o>(?:a|an|the)\s+"
            rf"{_THING})",
            None,
        ),
        # "Caroline's school event", "Nate's gaming tournament": an event of the subject's
        ("attended", rf"(?P<s>{subject})'s\s+(?:\w+\s+){{0,2}}?(?P<o>(?:[\w+-]+\s+){{0,2}}{_EVENT})\b", None),
        # "this pride parade Caroline went to": the event before its verb
        (
            "attended",
            rf"\b(?:a|an|the|this|that)\s+(?P<o>(?:[\w+-]+\s+){{0,3}}{_EVENT})\s+(?P<s>{subject})\s+{_ADV}{_NEG}"
            rf"(?:went\s+to|attended|joined|ran\s+in|performed\s+at|hosted|organi[sz]ed|took\s+part\s+in)\b",
            None,
        ),
        # "Jon chose to go to networking events", "Melanie went to a pottery class": events without an article
        (
            "attended",
            rf"{s}{_CHAIN}(?:went\s+to|go\s+to|goes\s+to|attended|attend|attends|joined|participated\s+in|"
            rf"(?:is\s+|was\s+|am\s+)?taking|took|"
            rf"took\s+part\s+in|signed\s+up\s+for|competed\s+in|(?:is\s+|was\s+)?(?:hosting|organi[sz]ing)|hosted|"
            rf"started|began|enrolled\s+in|"
            rf"organi[sz]ed)\s+(?:(?:a|an|the|some|Melanie's|our|my)\s+)?(?P<o>(?:[\w+-]+\s+){{0,3}}?{_EVENT})\b",
            None,
        ),
        # "Nate won another regional video game tournament", "was in the final of a big Valorant tournament"
        (
            "attended",
            rf"{s}(?:won|wins|win|lost|entered|enters|played\s+in|competed\s+at|was\s+in\s+the\s+(?:final|finals|semi-?finals?)"
            rf"\s+of|made\s+it\s+to\s+the\s+(?:final|finals)\s+of)\s+(?:(?:a|an|the|my|his|her|another|(?P=s)'s|\w+(?:st|nd|rd|th))\s+)?"
            rf"(?:(?:big|huge|major|small|tough|really|very|intense|crazy|first|second|third|fourth|fifth)\s+)*"
            rf"(?P<o>(?:[\w+:-]+\s+){{0,3}}?{_WON}(?!\s+{_WON}))\b",
            None,
        ),
        # "took the kids to the museum", "went to the beach": a place that is no name
        (
            "visited",
            rf"{s}{_CHAIN}(?:went|go|goes|going|headed|took\s+{_COMPANY}|take\s+{_COMPANY}|visited|visit|visits)\s+"
            rf"(?:back\s+)?(?:to\s+)?(?:the|a|an)\s+(?:\w+\s+)?(?P<o>{_PLACE})\b",
            "place",
        ),
        # "went on another camping trip in the forest", "Melanie's family camping trip": an outing
        (
            "does",
            rf"{s}{_CHAIN}(?:went\s+on|go\s+on|goes\s+on|took|take|takes|had|did|planned|enjoyed|loved|remembers?)\s+"
            rf"(?:a|an|another|the|some|(?P=s)'s)\s+(?:(?:great|fun|nice|quick|short|long|little|big|amazing|awesome|"
            rf"family|first|second)\s+)*(?P<o>(?:[a-z]+\s+)?{_OUTING})\b(?P<w>\s+(?:with\s+(?:{_COMPANY})|"
            rf"(?:in|at|on|to|near)\s+(?:the\s+|a\s+|an\s+)?{_WHERE}))?",
            None,
        ),
        (
            "does",
            rf"(?P<s>{subject})'s\s+(?:family\s+|fam\s+|kids'\s+)?(?P<o>(?:[a-z]+\s+)?{_OUTING})\b(?P<w>\s+(?:with\s+"
            rf"(?:{_COMPANY})|(?:in|at|on|to|near)\s+(?:the\s+|a\s+|an\s+)?{_WHERE}))?",
            None,
        ),
        # "a pic of Melanie's family camping at the beach": the family's activity is the subject's
        (
            "does",
            rf"(?P<s>{subject})'s\s+{_KINWORD}\s+(?:(?:was|were|is|are|went|go|love|loved)\s+)?"
            rf"(?P<o>(?!{_NOT_ACTIVITY})[a-z]{{3,}}ing)\b(?P<w>\s+(?:(?:in|at|on|by|near)\s+(?:the\s+|a\s+|an\s+)?{_WHERE}))?",
            "family",
        ),
        # "a great experience last weekend hiking with Maria's church friends": the company names the subject
        (
            "does",
            rf"\b(?P<o>(?!{_NOT_ACTIVITY})[a-z]{{3,}}ing)\s+(?P<w>with\s+(?P<s>{subject})'s\s+(?:\w+\s+)?(?:{_KINWORD}|"
            rf"friends|friend|buddies|team|teammates|classmates|coworkers|colleagues|dog|dogs|pets?))\b",
            None,
        ),
        # "John was in Chicago", "Tim spent a week in Boston": a place by name
        (
            "visited",
            rf"{s}(?:was|were|has\s+been|stayed|spent\s+(?:\w+\s+){{1,3}}?)\s+in\s+(?P<o>{_NAME})",
            "place",
        ),
        # "playing Melanie's violin"
        (
            "does",
            rf"\b(?:play|plays|played|playing|practice|practicing)\s+(?P<s>{subject})'s\s+(?P<o>{PASTIME})\b",
            None,
        ),
        # "these figurines Melanie bought", "the vase Melanie made": the object before its verb
        (
            "bought",
            rf"\b(?:these|this|those|that|the)\s+(?P<o>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s+(?P<s>{subject})\s+{_ADV}"
            rf"(?:bought|purchased|ordered)\b",
            None,
        ),
        (
            "made",
            rf"\b(?:these|this|those|that|the|a|an)\s+(?P<o>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s+(?P<s>{subject})\s+{_ADV}"
            rf"(?:made|baked|painted|built|wrote|drew|knitted|crafted|created|designed|sewed|cooked|finished)\b",
            None,
        ),
        # "went camping with the kids", "has been running farther", "took the kids swimming": an activity
        (
            "does",
            rf"{s}{_CHAIN}(?:went|go|goes|going|gone|been|done|did|tried|try|started|start|took\s+up|take\s+up|picked\s+up|keeps?|kept|"
            rf"loves?|loved|enjoys?|enjoyed|likes?|liked|took\s+(?:{_COMPANY})|take\s+(?:{_COMPANY})|"
            rf"(?:is|am|are|was|were|has\s+been|have\s+been|had\s+been)\s+(?=(?:{HOBBY})\b))\b\s*"
            rf"(?P<o>(?:(?!{_DET}|{_NOT_ACTIVITY})[a-z]+\s+(?=[a-z]+ing\b))?(?!{_NOT_ACTIVITY})[a-z]{{3,}}ing)\b"
            rf"(?P<w>\s+(?:together|with\s+(?:{_COMPANY})|(?:in|at|on|by|near)"
            rf"\s+(?:the\s+|a\s+|an\s+)?{_WHERE}))?",
            None,
        ),
        # "Melanie plays the violin", "Nate practices karate"
        (
            "does",
            rf"{s}{_CHAIN}(?:plays?|played|playing|practices|practiced|practice|practicing|took\s+up|is\s+learning|"
            rf"learned|learnt|started\s+learning|started|(?:(?:is|am|are|was|were|has\s+been|have\s+been)\s+)?doing|"
            rf"does|did|do)\s+(?:the\s+|some\s+)?(?P<o>{PASTIME})\b",
            None,
        ),
        # "Caroline is keen on counseling", "Jolene is passionate about yoga": an interest
        (
            "likes",
            rf"{s}(?:(?:is|am|are|was|has\s+been|have\s+been)\s+(?:really\s+|so\s+|very\s+)?(?:keen\s+on|interested\s+in|"
            rf"passionate\s+about|into|a\s+(?:big\s+|huge\s+)?fan\s+of|obsessed\s+with|fascinated\s+by|crazy\s+about)|"
            rf"loves?|loved|enjoys?|enjoyed|adores?|is\s+loving)\s+(?P<o>{_TITLE}|{_NAME}|{_THING})",
            None,
        ),
        ("met", rf"{s}(?:met|meet|ran\s+into|caught\s+up\s+with)\s+(?P<o>{_NAME})", "person"),
        # "Joanna watched "Little Women"", "Tim is excited to watch "The Wheel of Time""
        (
            "watched",
            rf"{s}(?:watched|watch|watches|saw|see|re-?watched|binged|streamed|(?:is|was)\s+watching|"
            rf"(?:is|was)\s+(?:so\s+|really\s+)?excited\s+to\s+watch|finished\s+watching)\s+(?:the\s+(?:movie|film|show|"
            rf"series|documentary)\s+|(?:this|a|the)\s+(?:new\s+)?(?:movie|film|show|series)\s+(?:called\s+)?)?(?P<o>{_TITLE})",
            "film",
        ),
        (
            "plans",
            rf"{s}(?:{_PLAN_CUE})\s+(?P<o>(?!be\b|have\b|do\b|it\b)[a-z][\w'-]*(?:\s+[\w'“”\"-]+){{0,9}}?)"
            rf"(?=\s*[,.;!?(]|\s+-|\s+(?:and\s+(?:then|it|that)|but|because|so|which|since)\b|$)",
            None,
        ),
    ]
    return [_Pattern(r, re.compile(p, re.I), k) for r, p, k in out]


class RelationExtractor:
    """``extract(facts, participants)`` → relations, reading facts in time order (coreference
    needs what came before)."""

    id = "relations.rules@1"

    def extract(self, facts: Sequence[Item], participants: Sequence[str], shown: Sequence[Item] = ()) -> Extraction:
        """``shown``: caption statements (:func:`outcrop.strata.captions.caption_statements`), read
        beside the facts in time order; each gives a ``shared`` relation for its picture."""
        people = [p for p in dict.fromkeys(participants) if p]
        coref = Coreference(people)
        mentions: dict[str, list[str]] = {}
        texts: dict[str, str] = {}
        if not people:
            return Extraction([], coref, mentions)
        ordered = sorted([*facts, *shown], key=lambda f: (f.timestamp or datetime.min, f.id))
        known: list[str] = list(people)
        pets: set[str] = set()  # named pets: subjects of relations, never of plans
        kin: set[str] = set()  # named family: a sister Luna beside a cat Luna still plans
        found: list[Relation] = []
        for fact in ordered:
            resolved = coref.resolve(fact)
            if resolved.names:
                mentions[fact.id] = resolved.names
                if resolved.text != fact.text:
                    texts[fact.id] = resolved.text
            text = _subject_text(resolved.text, fact.speaker)
            picture = str(fact.metadata.get("shown") or "") if is_statement(fact) else ""
            if picture and fact.speaker in people:  # "Joanna shared a photo of a cake with white frosting"
                found.append(Relation(fact.speaker, "shared", _key(_clean(picture)), fact))
            if fact.speaker in people and not picture:  # "Tim: "The Name of the Wind" is great."
                for title in _QUOTED.findall(fact.text):
                    found.append(Relation(str(fact.speaker), "mentions", f'"{title}"', fact, "title"))
            subject = "|".join(re.escape(n) for n in sorted(known, key=len, reverse=True))
            for pattern in _patterns(subject):
                for m in pattern.regex.finditer(text):
                    relation = self._relation(pattern, m, fact, people, text)
                    if relation is None or (
                        relation.relation == "plans" and relation.subject in pets and relation.subject not in kin
                    ):
                        continue  # "Pixie will tag along": a pet goes where it is taken
                    found.append(relation)
                    if relation.relation == "owns" and relation.kind and relation.object[:1].isupper():
                        coref.name_pet(relation.subject, relation.kind, relation.object)
                        if relation.status == "asserted":  # not "I don't have a cat named Luna"
                            pets.add(relation.object)
                        if relation.object not in known:
                            known.append(relation.object)
                    if relation.relation == "family":
                        kin.add(relation.object)
                        if relation.object not in known:
                            known.append(relation.object)
            kind = coref.herd(fact)
            names = _NAMES_ARE.search(text) if kind else None
            if names is not None and kind and fact.speaker:  # "Their names are Pepper, Precious and Panda."
                for name in re.split(r",\s*(?:and\s+)?|\s+and\s+", names.group("o")):
                    if name:  # named by the sentence itself
                        found.append(Relation(fact.speaker, "owns", name, fact, kind))
                        coref.name_pet(fact.speaker, kind, name)
                        pets.add(name)
            let = _LET.search(text) if fact.speaker in people else None
            plan = _clean(let.group("o")) if let is not None else ""
            if plan and set(content_terms(plan)) - _GENERIC:  # "let's meet at the new café": a plan of both
                found += [Relation(who, "plans", plan, fact, when=_named_time(fact)) for who in people]
        relations = _dedupe(found)
        return Extraction(relations, coref, mentions, _ends(relations, ordered, coref), texts)

    def _relation(
        self, pattern: _Pattern, m: re.Match[str], fact: Item, people: Sequence[str], text: str
    ) -> Relation | None:
        groups = m.groupdict()
        if _UNREAL.search(text[: m.start()]):
            return None
        obj = _clean(groups.get("o") or "")
        kind = pattern.kind
        if groups.get("k"):
            kind = pet_kind(groups["k"]) or groups["k"].lower()
        if pattern.relation == "owns" and not obj:
            obj = f"a {kind}"  # "Audrey adopted a dog": the kind without a name
        obj = re.sub(
            r"\s+(?:for|to|with|at|in|on|of|about|from|by|near|into|and|or|but|though)$", "", obj
        )  # "order some sushi for"
        if pattern.relation == "plans":
            obj = _PLAN_ADVERB.sub("", obj)
            words = obj.split()
            if (words and words[0].lower() in _NOT_A_PLAN) or _TELLING.search(obj):
                return None
        if pattern.relation == "does" and groups.get("w"):  # "camping with the kids", "camping in the mountains"
            obj = f"{obj} {_company(groups['w'])}"
        if pattern.relation == "does" and kind == "family":  # "Melanie's family camping at the beach"
            obj, kind = f"{obj} with family", None
        if pattern.relation == "likes" and obj.split()[0].lower() in _NOT_LIKED:
            return None  # "loves how Caroline uses it"
        bare = re.sub(r"^(?:a|an|the|some)\s+", "", obj.lower())
        if not obj or not content_terms(bare) or bare.split()[0] in _VAGUE or obj in people:
            return None  # "do it", "them sometimes"
        if pattern.relation == "plans" and not set(content_terms(bare)) - _GENERIC - _CHAT_PLANS:
            return None  # "do it", "get planning", "ttyl"
        if pattern.relation != "plans" and bare.split()[0] in _NOT_HEADS:
            return None  # "made a few weeks", "made this after …": no object
        if pattern.relation == "made" and bare.split()[-1] in _NOT_MADE:
            return None  # "made an appointment", "made a decision"
        headed = pattern.relation == "attended" and obj.split()[-1].islower()  # "Valorant tournament"
        if obj[:1].isupper() and not obj.startswith('"') and not headed and not _named(obj, fact, text):
            return None  # "Yeah, Audrey's dogs …": a capital that is no name
        status = "negated" if groups.get("neg") else "asserted"
        subject = groups.get("s") or ""
        to = groups.get("to")
        if pattern.relation == "recommended" and groups.get("v"):  # "Caroline should read X", said by Melanie
            if not fact.speaker or fact.speaker == to:
                return None
            subject = fact.speaker
        if not subject:
            return None
        when = _named_time(fact) if pattern.relation == "plans" else None
        return Relation(subject, pattern.relation, obj, fact, kind, status, to, when)


_KIN = re.compile(
    r"\b(?:kids|children|fam|family|son|sons|daughter|daughters|husband|wife|brother|sister|siblings|parents|mom|dad|"
    r"grandkids)\b",
    re.I,
)


def _company(phrase: str) -> str:
    """Who or where an activity was with: "with Melanie's fam" → "with family"."""
    phrase = " ".join(phrase.split())
    if phrase.lower().startswith("with") and _KIN.search(phrase):
        return "with family"
    return phrase


def _named(name: str, fact: Item, text: str) -> bool:
    """Whether a capitalised object is a name: the recogniser found it, or it was given one."""
    if name in FactPayload.of(fact).entities:
        return True
    return re.search(rf"\b(?:named|called|meet)\s+{re.escape(name)}\b", text) is not None


def _subject_text(text: str, speaker: str | None) -> str:
    """The fact's text for matching: a "Speaker: " prefix dropped, a leading "We" read as the speaker."""
    if speaker and text.startswith(f"{speaker}: "):
        text = text[len(speaker) + 2 :]
    if speaker:
        text = re.sub(r"\b[Ww]e\b", speaker, text)  # "we got another cat": the speaker did (and others)
        text = re.sub(r"\b[Oo]ur\b", f"{speaker}'s", text)  # "our camping trip"
        name = re.escape(speaker)  # "Melanie's kids and Melanie finished a painting": Melanie did
        text = re.sub(
            rf"\b{name}'s\s+{_KINWORD}\s+and\s+{name}\b|\b{name}\s+and\s+{name}'s\s+{_KINWORD}\b", speaker, text
        )
    return text


def _clean(value: str) -> str:
    value = value.strip().strip("-–— ").replace("“", '"').replace("”", '"')
    value = re.sub(
        r"(?:\s+(?:here|there|now|too|again|lately|recently|soon|someday|tomorrow|tonight|today|(?:next|this|last)\s+"
        r"(?:week|weekend|month|year|summer|winter|spring|fall|monday|tuesday|wednesday|thursday|friday|saturday|sunday)))+$",
        "",
        value,
        flags=re.I,
    )
    value = re.sub(r"\s*\([^)]*$", "", value)  # a date annotation cut in half
    value = re.sub(
        r"(?:\s+(?:for\s+|about\s+)?(?:a|an|one|two|three|four|five|six|a\s+few|several|\d+)\s+(?:days?|weeks?|months?|years?))+$",
        "",
        value,
        flags=re.I,
    )
    words = value.split()
    if words and words[0].lower() in _STOP and len(words) > 1 and words[0].lower() not in {"a", "an"}:
        value = " ".join(words[1:])
    return value.strip()


def _named_time(fact: Item) -> datetime | None:
    dates = FactPayload.of(fact).dates
    if not dates:
        return None
    try:
        return datetime.fromisoformat(dates[0].start)
    except ValueError:
        return None


def _dedupe(found: list[Relation]) -> list[Relation]:
    seen: set[tuple[str, str, str, str]] = set()
    out = []
    for r in found:
        key = (r.subject, r.relation, r.object.lower(), r.fact.id)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


# -- aggregate views -------------------------------------------------------------------------------


@dataclass
class _Entry:
    obj: str
    kind: str | None
    to: str | None = None
    facts: list[Item] = field(default_factory=list)
    asserted: bool = False
    when: datetime | None = None
    ended: Item | None = None
    status: str = "asserted"


class RelationViews:
    """Relations → one view per (subject, relation): every object, when it was first said, and
    whether it still holds (see the module docstring)."""

    id = "relations.views@1"

    def __init__(self, extractor: RelationExtractor | None = None, min_facts: int = 1) -> None:
        self.extractor = extractor or RelationExtractor()
        self.min_facts = min_facts

    def build(self, facts: Sequence[Item], participants: Sequence[str]) -> list[TopicDraft]:
        return self.views(self.extractor.extract(facts, participants))

    def views(self, found: Extraction) -> list[TopicDraft]:
        groups: dict[tuple[str, str], dict[str, _Entry]] = {}
        for r in found.relations:
            entries = groups.setdefault((r.subject, r.relation), {})
            entry = entries.setdefault(_key(r.object), _Entry(r.object, r.kind, r.to))
            entry.facts.append(r.fact)
            entry.kind = entry.kind or r.kind
            entry.to = entry.to or r.to
            entry.when = entry.when or r.when
            if r.status == "asserted":
                entry.asserted = True
            end = found.ended_by(r)
            if end is not None and entry.ended is None:
                entry.ended, entry.status = end, "cancelled" if r.relation == "plans" else "ended"
        for entries in groups.values():
            for entry in entries.values():
                if not entry.asserted:
                    entry.status = "negated"
        drafts = []
        for (subject, relation), entries in groups.items():
            named = {e.kind for e in entries.values() if e.obj[:1].isupper()}
            # "Audrey's dogs" next to "Pepper" and "Panda": the named dogs say it
            shown = [e for e in entries.values() if e.facts and not (e.obj == f"a {e.kind}" and e.kind in named)]
            if not shown or len({f.id for e in shown for f in e.facts}) < self.min_facts:
                continue
            drafts.append(self._draft(subject, relation, shown))
        return sorted(drafts, key=lambda d: d.key)

    @staticmethod
    def _draft(subject: str, relation: str, entries: list[_Entry]) -> TopicDraft:
        entries.sort(key=lambda e: (min(_time(f) for f in e.facts), e.obj))
        objects: list[tuple[str | None, str]] = []
        payload: list[RelationEntry] = []
        for e in entries:
            times = sorted(_time(f) for f in e.facts)
            first = min(e.facts, key=_time)
            said = f"said {spoken_date(first.timestamp)}" if first.timestamp else ""
            owned = relation == "owns" and e.status != "negated"
            notes = [said.replace("said", "since") if owned and said else said]
            if e.to:
                notes.insert(0, f"to {e.to}")
            if e.when:
                notes.append(f"for {spoken_date(e.when)}")
            if e.ended is not None:
                word = "cancelled" if e.status == "cancelled" else "ended"
                notes.append(f"{word} {spoken_date(e.ended.timestamp)}" if e.ended.timestamp else word)
            objects.append((e.kind, relation_object(e.obj, [n for n in notes if n], negated=e.status == "negated")))
            payload.append(
                RelationEntry(
                    object=e.obj,
                    kind=e.kind,
                    status=e.status,
                    first_seen=_iso(times[0]),
                    last_seen=_iso(times[-1]),
                    when=_iso(e.when),
                    ended=_iso(e.ended.timestamp) if e.ended is not None else None,
                    to=e.to,
                    facts=[f.id for f in e.facts if not is_statement(f)],
                    sources=list(dict.fromkeys(s for f in e.facts for s in f.sources)),
                )
            )
        verb = relation.replace("_", " ")
        kinds = sorted({e.kind for e in entries if e.kind and e.kind not in UNGROUPED_KINDS})
        label = f"{subject} — {verb}"
        members = [f for e in entries for f in e.facts] + [e.ended for e in entries if e.ended is not None]
        times = [f.timestamp for f in members if f.timestamp]
        return TopicDraft(
            key=f"relation:{subject}:{relation}",
            label=label,
            text=relation_text(label, objects),
            facts=list(dict.fromkeys(f.id for f in members if not is_statement(f))),
            sources=list(dict.fromkeys(s for f in members for s in f.sources)),
            start=min(times) if times else None,
            end=max(times) if times else None,
            entities=list(dict.fromkeys([subject, *(e.obj for e in entries if e.obj[:1].isupper())])),
            metadata={
                "kind": "relation",
                "subject": subject,
                "relation": relation,
                # the page channel's keys (owner, thing, other words for it), for a channel that reads views
                "owner": subject,
                "thing": kinds[0] if len(kinds) == 1 else relation,
                "forms": sorted({*(_plural(k) for k in kinds), *_WORDS.get(relation, ())}),
                "entries": [p.model_dump(mode="json", exclude_none=True) for p in payload],
            },
        )


def _ends(
    relations: Sequence[Relation], ordered: Sequence[Item], coref: Coreference
) -> dict[tuple[str, str, str], Item]:
    """The facts that end relations: a pet that died, a plan called off, said after them."""
    ended: dict[tuple[str, str, str], Item] = {}
    held = [r for r in relations if r.status == "asserted" and r.relation in {"owns", "plans"}]
    for fact in ordered:
        dies, cancels = _DIED.search(fact.text), _CANCEL.search(fact.text)
        if not (dies or cancels):
            continue
        words = _content(fact.text)
        for r in held:
            key = (r.subject, r.relation, _key(r.object))
            if key in ended or (_time(fact), fact.id) <= (_time(r.fact), r.fact.id):
                continue
            if dies and r.relation == "owns" and r.object in coref.owner_of:
                if re.search(rf"\b{re.escape(r.object)}\b", fact.text):
                    ended[key] = fact
            elif cancels and r.relation == "plans" and fact.speaker == r.subject and _content(r.object) & words:
                ended[key] = fact
    return ended


_WORDS = {
    "owns": ("pet", "pets", "owns"), "family": ("family",), "works_at": ("work", "works", "job", "employer"),
    "visited": ("visited", "trip", "travel", "places"), "moved_to": ("moved", "move", "live", "lives"),
    "recommended": ("recommended", "recommend", "suggested"), "read": ("read", "book", "books"),
    "made": ("made", "make", "created"), "gave": ("gave", "gift", "gifts"), "bought": ("bought", "buy"),
    "attended": ("attended", "events", "joined", "participated"), "met": ("met", "meet"),
    "plans": ("plan", "plans", "planned", "planning"), "does": ("activities", "activity", "hobbies", "hobby"),
    "likes": ("likes", "loves", "interests", "enjoys"),
    "watched": ("watched", "watch", "movie", "movies", "film", "films", "show", "shows", "series"),
    "mentions": ("book", "books", "movie", "movies", "film", "films", "show", "shows", "series", "title", "titles"),
    "shared": ("photo", "photos", "picture", "pictures", "pic", "pics", "image", "images", "shared", "showed"),
}  # fmt: skip


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")


def _content(text: str) -> set[str]:
    return {t for t in content_terms(text) if len(t) > 3}


def _key(obj: str) -> str:
    return re.sub(r"^(?:a|an|the|some)\s+", "", obj.lower()).strip('"')


def _time(fact: Item) -> datetime:
    return fact.timestamp or datetime.min


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
