"""L1 facts from turns without an LLM: sentences made self-contained.

Each sentence of a turn that says something (not a greeting, not a bare question) becomes a fact:
first person is rewritten to the speaker's name, second person to the other participant, relative
dates get their absolute date beside them, entities are recognised, and a (subject, attribute,
value) slot is filled where a pattern gives one ("I live in Boston", "my favourite band is …").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from outcrop.core.text import STOPWORDS, content_terms, split_sentences
from outcrop.core.time.expressions import annotate
from outcrop.core.types import Item
from outcrop.strata.activities import names_activity
from outcrop.strata.base import FactDraft, Slot, date_records
from outcrop.strata.coref import name_there, place_mentions
from outcrop.strata.entities import EntityRecognizer, RuleEntities

__all__ = ["RuleFactExtractor"]

_VAGUE = {
    "it",
    "that",
    "this",
    "how",
    "what",
    "when",
    "where",
    "which",
    "them",
    "those",
    "these",
    "the",
    "and",
    "as",
    "so",
    "a",
    "an",
}
_IMAGE = re.compile(r"\s*\[shared an image: (.*?)\]\s*$")
_THIRD_PERSON = {
    "am": "is", "have": "has", "do": "does", "was": "was", "don't": "doesn't",
    "haven't": "hasn't",
}  # fmt: skip
# "I'd" before a past participle is "I had" ("I'd been wanting", "I'd never seen", "I'd finished")
_PARTICIPLE = (
    r"(?=\s+(?:(?:never|already|just|always|only|recently)\s+)?"
    r"(?:been|had|gone|done|seen|known|heard|given|taken|forgotten|gotten|told|said|made|thought|bought|brought|"
    r"felt|found|left|lost|met|kept|spent|sent|built|won|[a-z]+ed)\b)"
)
_HAD = re.compile(rf"\bI['’]d{_PARTICIPLE}")
_YOU_HAD = re.compile(rf"\b[Yy]ou['’]d{_PARTICIPLE}")
# "I'm", "I've", "I'd", "I'll" (straight or curly apostrophe): the speaker and the verb it stands for
_I_CONTRACTED = {"m": "is", "ve": "has", "d": "would", "ll": "will"}
_YOU_CONTRACTED = {"re": "is", "ve": "has", "ll": "will", "d": "would"}
_NOT_VERBS = {
    "can", "could", "will", "would", "should", "might", "must", "may", "shall", "also", "just", "really", "still",
    "always", "never", "usually", "often", "already", "even", "only", "recently", "actually", "definitely", "totally",
    "finally", "too", "and", "but", "so", "guess", "mean", "not", "don't", "didn't", "can't", "won't", "got", "went",
    "took", "made", "saw", "had", "did", "ran", "met", "ate", "came", "gave", "found", "felt", "left", "thought",
    "bought", "brought", "taught", "caught", "wrote", "drove", "rode", "sang", "swam", "began", "knew", "grew", "threw",
    "flew", "drew", "spoke", "broke", "chose", "woke", "wore", "won", "lost", "kept", "slept", "sent", "spent",
    "built", "read", "heard", "said", "told", "sold", "held", "stood", "understood", "fell", "paid", "led", "fed",
    "fought", "sat", "put", "cut", "let", "set", "hit", "hurt", "quit", "became", "forgot", "meant", "learnt",
    "were", "is", "are", "been", "being", "used", "wanna", "gotta", "no",
}  # fmt: skip
_ADVERBS = (
    "really|also|just|still|always|never|usually|often|actually|totally|definitely|finally|recently|absolutely|"
    "no longer|sometimes|rarely|seldom|even|sort of|kind of"
)
# What may stand between a pronoun and its verb when a sentence is retold in the third person: the
# adverbs above, any other "-ly" adverb ("I probably also have": "Nate probably also has", not
# "Nate probablies also have") and a few short ones; "rely", "reply", "apply" are verbs, and so is an
# "-ly" word before a preposition or an object ("I reapply every year", "I dally with friends"). Used
# with a possessive repeat (``*+``): an adverb of the list is an "-ly" word too, and a backtracking
# repeat over both readings took exponential time on a run of them.
_BEFORE_VERB = (
    rf"(?:{_ADVERBS}|ever|first|once|now|then|almost|sure|kinda|sorta|"
    r"(?!(?:apply|reply|supply|comply|imply|multiply|rally|tally|bully|sully|rely|ally|belly)\b)[a-z]{2,}ly"
    r"(?! (?:every|with|to|for|at|on|in|the|a|an|my|your|his|her|our|their|it|them|me|us|him|and|or|of|about|"
    r"from|into|up|out|off)\b))"
)
# Verbs whose present tense ends in "ed", as a past tense does ("I need": "Nate needs"); not "shed",
# "wed", which are past tenses too
_PRESENT_IN_ED = frozenset("need feed succeed proceed exceed bleed breed speed heed weed seed embed".split())
# Past tenses of a prefixed verb ("retook", "overslept"), listed: "resent" and "rebut" are presents
_PREFIXED_PAST = frozenset(
    "retook mistook undertook overtook outdid redid overdid rewrote remade rebuilt overcame overheard overate "
    "oversaw withheld withdrew misunderstood misread outgrew outran retold resold rewound overslept overthought "
    "upheld foresaw".split()
)
_IRREGULAR_PAST = {
    "took",
    "went",
    "began",
    "saw",
    "made",
    "flew",
    "got",
    "had",
    "did",
    "ran",
}  # not "read": imperative too
# Adverbs that may stand between the speaker and a slot's verb: not the negating or hedging ones.
_AFFIRMING = "|".join(
    a
    for a in _ADVERBS.split("|")
    if a not in {"never", "no longer", "rarely", "seldom", "sometimes", "sort of", "kind of"}
)
_TRAILING_NOISE = re.compile(
    r"(?:\s+(?:here|there|now|too|again|lately|recently|anyway|though|(?:for |about )?(?:a|an|one|two|three|four|"
    r"five|six|seven|eight|nine|ten|a few|several|many|\d+) (?:days?|weeks?|months?|years?)(?: now)?))+$",
    re.I,
)
_UNREAL = re.compile(r"\b(?:if|unless|wish|wishes|wished|would|could|should|might)\b", re.I)
_VAGUE_NOUNS = {"idea", "lot", "day", "way", "thing", "things", "time", "moment", "chance", "fact", "feeling", "point"}
_NOT_PLACES = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February", "March",
    "April", "May", "June", "July", "August", "September", "October", "November", "December", "Christmas", "Easter",
    "Thanksgiving", "Halloween", "Mass", "Church", "Pride", "Mom", "Dad", "Mum", "Grandma", "Grandpa", "God", "St",
    "Dr", "Mt", "Mr", "Mrs", "Ms",
}  # fmt: skip
_GREETING = re.compile(
    r"^(hey|hi|hello|thanks|thank you|wow|omg|haha|lol|congrats|congratulations|bye|see you|take care|"
    r"that(?:'s| is| sounds| was) (so |really )?(great|awesome|cool|amazing|nice|wonderful|fun|good)|sounds (great|good|fun))\b",
    re.I,
)
_PLAN = re.compile(r"\b(?:will|going to|gonna|plan(?:s|ning)? to|hope to|want(?:s)? to|intend(?:s)? to)\b", re.I)
_PAST = re.compile(r"\b(?:went|visited|started|joined|got|made|took|bought|ran|did|attended|finished|moved|met|"
                   r"saw|had|was|were|adopted|painted|signed up|celebrated|won|lost|tried)\b", re.I)  # fmt: skip

# Patterns over the rewritten sentence ("{S}" is the subject's name, "{V}" the value).
_VALUE = (
    r"(?P<value>[^,.;!?]{2,60}?)(?=\s+(?:and|but|because|since|when|with|so|which|for|last|next|this|in|on|at|to|"
    r"now|today|yesterday|tomorrow|ago|a few|two|three)\b|\s*\(|[,.;!?]|$)"
)
_LIST = (
    r"(?P<value>[^.;!?]{2,80}?)(?=\s+(?:but|because|since|when|so|which|while|though|last|next|this|yesterday|"
    r"today|tomorrow|ago)\b|,\s*(?:we|i|it|they|he|she|that|which|so|but|because|and then)\b|\s+[-–—]+\s|\s*\(|"
    r"[.;!?]|$)"
)
# A proper name (a place, a title): capitalised words, matched case-sensitively inside re.I patterns.
_NAME = r"(?-i:(?P<value>[A-Z][\w-]+\b(?!')(?: (?:of |de |the )?[A-Z][\w-]+\b(?!')){0,3}))"
_TITLE = r"(?P<value>[\"“][^\"”]{2,60}?[\"”])"  # kept quoted: a title is one value, never split
_PLAYED = (
    r"(?P<value>guitar|acoustic guitar|electric guitar|piano|keyboard|violin|viola|cello|clarinet|flute|saxophone|"
    r"trumpet|drums|ukulele|bass|harp|banjo|harmonica|basketball|soccer|football|tennis|baseball|volleyball|golf|"
    r"hockey|chess|badminton|rugby|cricket|table tennis|video games|board games)\b"
)
_SLOT_PATTERNS: list[tuple[re.Pattern[str], str, bool, str]] = [
    (re.compile(rf"\b(?:lives?|living|resides?) in {_VALUE}", re.I), "lives_in", True, "state"),
    (re.compile(rf"\bmoved (?:back )?to {_VALUE}", re.I), "lives_in", True, "state"),
    (re.compile(rf"\bworks? (?:as|as an?) {_VALUE}", re.I), "occupation", True, "state"),
    (re.compile(rf"\bworks? (?:at|for) {_VALUE}", re.I), "employer", True, "state"),
    (re.compile(rf"'s fav(?:ou?rite|e) (?P<what>[a-z ]{{2,30}}?) (?:is|are|was) {_VALUE}", re.I), "favorite", True, "preference"),
    (re.compile(rf"\b(?:really |absolutely |also )?(?:loves?|loved|likes?|enjoys?|adores?|is (?:really )?into|is passionate about|is a (?:big )?fan of) {_TITLE}", re.I), "likes", False, "preference"),
    (re.compile(rf"\b(?:really |absolutely |also )?(?:loves?|likes?|enjoys?|adores?|is (?:really )?into|is passionate about|is a (?:big )?fan of) {_LIST}", re.I), "likes", False, "preference"),
    (re.compile(rf"\b(?:hates?|dislikes?|can't stand) {_LIST}", re.I), "dislikes", False, "preference"),
    (re.compile(r"'s (?P<what>husband|wife|partner|boyfriend|girlfriend|son|daughter|kids|children|mom|mother|dad|father|brother|sister|dog|cat|pet|best friend)(?: is| named| called)? (?P<value>[A-Z][\w'-]+(?: [A-Z][\w'-]+)?)"), "relation", False, "relation"),
    (re.compile(rf"\bis (?:married to|dating|engaged to) {_VALUE}", re.I), "partner", True, "relation"),
    (re.compile(rf"\b(?:is|has been) (?:planning|going|hoping|wanting) to {_VALUE}", re.I), "plans", False, "plan"),
    (re.compile(rf"\b(?:started|took up|began|joined|signed up for) {_LIST}", re.I), "activities", False, "event"),
    (re.compile(rf"\b(?:(?:just )?(?:finished )?(?:re)?read(?:s|ing)?|is (?:re)?reading) (?:the book |the novel |a book called )?{_TITLE}", re.I), "read", False, "event"),
    (re.compile(rf"\b(?:watched|watches|saw|is watching|(?:went|goes) to see) (?:the (?:movie|film|show) )?{_TITLE}", re.I), "watched", False, "event"),
    (re.compile(rf"\b(?:visited|visits|went (?:back )?to|goes to|travell?ed to|flew to|(?:took|made|went on) an? (?:\w+ )?(?:trip|vacation|holiday) (?:(?:last|this|next) \w+ )?to|has been to|got back from|returned from) (?:the )?{_NAME}", re.I), "visited", False, "event"),
    (re.compile(rf"\b(?:plays?|played|is playing|learned to play|is learning to play|started playing) (?:the |some )?{_PLAYED}", re.I), "plays", False, "preference"),
    (re.compile(r"\bis (?:an? )(?P<value>[a-z]+ ?(?:[a-z]+)?(?:ist|er|or|ian|ant|ent|ee))\b", re.I), "identity", False, "state"),
]  # fmt: skip


def _speaker_is_subject(gap: str, speaker: str, matched: str) -> bool:
    """Whether the words before a slot pattern make the speaker its subject: the pattern follows
    the name (or its possessive), perhaps after adverbs ("Ann just joined", "Ann also loves"), or
    opens the sentence with a past-tense verb, the chat having dropped the speaker's "I" ("Took a
    trip to Rome"; "Enjoy your day!" is said to the listener)."""
    if not gap:
        verb = matched.split()[0].lower() if matched.split() else ""
        return verb.endswith("ed") or verb in _IRREGULAR_PAST
    if _UNREAL.search(gap):  # "If Ann went to Paris", "Ann wishes Ann played piano"
        return False
    return re.search(rf"\b{re.escape(speaker)}(?:\s+(?:{_AFFIRMING}))*$", gap) is not None


def _clean_value(value: str, attribute: str) -> str | None:
    """The slot value as a profile shows it, or None when it names nothing worth keeping."""
    value = value.strip().rstrip("'").lstrip("-–— ")
    value = value.replace("“", '"').replace("”", '"')
    if not content_terms(value) or len(value.split()) > 6:  # a title of stop words ("Up") is lost with "That"
        return None
    if attribute == "relation":
        value = re.sub(r"'s$", "", value)  # "Ann's daughter Sara's birthday": Sara
    value = re.sub(r"^(?:to|doing|going)\s+", "", value)
    value = _TRAILING_NOISE.sub("", value)  # "amateur orchestra here", "transitioning three years"
    value = re.sub(r"^(?:a|an|the|some)\s+", "", value, flags=re.I)  # "joined a mentorship program"
    words = value.split()
    if not words or words[0].lower() in _VAGUE or words[0].lower() in _VAGUE_NOUNS:
        return None  # "the idea", "a lot of things", "the day with yoga"
    if attribute == "visited" and (value in _NOT_PLACES or len(value) < 3 or value.isupper()):
        return None  # "Sunday", "Christmas", "St" (a bare abbreviation), "AA"
    return value


def _third_person(verb: str) -> str:
    low = verb.lower()
    if low in _THIRD_PERSON:
        return _THIRD_PERSON[low]
    if low in _NOT_VERBS or low in _PREFIXED_PAST or not low.isalpha() or len(low) < 2:
        return verb
    if low.endswith("ed") and low not in _PRESENT_IN_ED:  # a past tense ("I need": a present)
        return verb
    if low.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if low.endswith("y") and low[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


_YOU_VERBS = {
    "are": "is", "were": "was", "have": "has", "do": "does", "don't": "doesn't", "haven't": "hasn't",
    "aren't": "isn't", "weren't": "wasn't",
}  # fmt: skip
_YOU_NOT_VERBS = {"guys", "all", "two", "both", "too", "alone", "here", "there", "again", "yourself", "and", "or"}
# "you" as the subject of a clause: at the start of the sentence or a clause, or after a conjunction
_YOU_SUBJECT = re.compile(
    r"(^|[,;:!.]\s+|\b(?i:and|but|or|so|because|if|when|that|since|as|while|how|where|why|whether|though|"
    rf"although|until|unless|what|whenever|wherever|after|before|once)\s+)[Yy]ou ((?:{_BEFORE_VERB} )*+)([A-Za-z']+)\b"
)


# "you" before a form of be, have or do inside a clause, after a word that opens a clause with "you" as
# its subject: "it's great you have", "who you are", "I know you are", "glad to hear you are". Not after
# any word: "friends like you are", "all of you are", "the people who love you are" keep the plural.
_YOU_AUXILIARY = re.compile(
    rf"\b([A-Za-z'’]+)(\s+)[Yy]ou ((?:{_BEFORE_VERB} )*+)(are|were|have|do|don't|haven't|aren't|weren't)\b"
)
_CLAUSE_BEFORE = frozenset(
    "who whom whose which how where when why what whether wonder great glad happy sure proud awesome amazing nice "
    "cool good lucky grateful thankful know knew think thought hope bet believe guess wish feel felt hear heard "
    "see saw seems noticed realize realized remember mean means hopes hoped knows thinks believes believed "
    "guessed wishes wished feels".split()
)
_TIME_WORDS = frozenset("yesterday today tonight tomorrow last next this every".split())


def _agreeing(verb: str) -> str:
    """``verb`` after "you" made to agree with a third-person subject ("have" → "has")."""
    low = verb.lower()
    if low in _YOU_VERBS:
        return _YOU_VERBS[low]
    if low in _YOU_NOT_VERBS or low in STOPWORDS or low in _TIME_WORDS or low.endswith(("ing", "s")):
        return verb  # "after you yesterday": "after" is a preposition there
    return _third_person(verb)


def resolve_persons(sentence: str, speaker: str | None, listener: str | None) -> str:
    """First person → the speaker, second person → the listener (when known)."""
    if speaker:
        sentence = _HAD.sub(f"{speaker} had", sentence)  # "I'd been wanting": had, not would
        sentence = re.sub(r"\bI['’](m|ve|d|ll)\b", lambda m: f"{speaker} {_I_CONTRACTED[m.group(1)]}", sentence)
        sentence = re.sub(
            rf"\bI ((?:{_BEFORE_VERB} )*+)(\w+(?:['’]t\b)?)\b",  # "I didn't" whole: not "didns't"
            lambda m: f"{speaker} {m.group(1) or ''}{_third_person(m.group(2).replace('’', chr(39)))}",
            sentence,
        )
        sentence = re.sub(r"\bI\b", speaker, sentence)
        sentence = re.sub(r"\b[Mm]y\b", f"{speaker}'s", sentence)
        sentence = re.sub(r"\b[Mm]yself\b", speaker, sentence)
        sentence = re.sub(r"\b[Mm]ine\b", f"{speaker}'s", sentence)
        sentence = re.sub(r"(?<=\s)me\b", speaker, sentence)
    if listener:
        sentence = _YOU_HAD.sub(f"{listener} had", sentence)
        sentence = re.sub(
            r"\b[Yy]ou['’](re|ve|ll|d)\b", lambda m: f"{listener} {_YOU_CONTRACTED[m.group(1)]}", sentence
        )
        sentence = _YOU_SUBJECT.sub(
            lambda m: f"{m.group(1)}{listener} {m.group(2) or ''}{_agreeing(m.group(3))}",
            sentence,
        )
        sentence = _YOU_AUXILIARY.sub(  # "how passionate you are": mid-clause, "are" can only be a verb
            lambda m: (
                f"{m.group(1)}{m.group(2)}{listener} {m.group(3)}{_YOU_VERBS[m.group(4).lower()]}"
                if m.group(1).lower() in _CLAUSE_BEFORE
                else m.group(0)
            ),
            sentence,
        )
        sentence = re.sub(r"\b[Yy]our\b", f"{listener}'s", sentence)
        sentence = re.sub(r"\b[Yy]ours\b", f"{listener}'s", sentence)  # "a painting of yours"
        sentence = re.sub(r"\b[Yy]ourself\b", listener, sentence)
        sentence = re.sub(r"\b[Yy]ou\b", listener, sentence)
    return sentence


_ASKING = re.compile(
    r"(?:do|does|did|have|has|had|are|is|was|were|can|could|will|would|should|may|might|what|who|where|when|why|"
    r"how|which|ever)\b",
    re.I,
)


def _states(sentence: str) -> bool:
    """A sentence that may state a fact: no question and no greeting. One that ends in a quoted "?"
    asks only when it opens as a question ('Have you read "Dune?"'; 'I loved "What About Bob?"' states)."""
    if sentence.endswith("?") or _GREETING.match(sentence):
        return False
    return not (sentence.rstrip("\"')]”’").endswith("?") and _ASKING.match(sentence))


def slot_of(text: str, speaker: str | None, names: Sequence[str] = ()) -> Slot | None:
    """The slot (subject, attribute, value) a fact's text states, read as the rule extractor
    reads one from a sentence said by ``speaker``; None when it states none. ``names``: the
    participants, who are no place, title or activity."""
    return RuleFactExtractor._slot(text, speaker, names)[0]


class RuleFactExtractor:
    """The zero-LLM fact producer. Deterministic: the same turn gives the same facts."""

    id = "facts.rules@1"

    def __init__(self, entities: EntityRecognizer | None = None, min_terms: int = 4) -> None:
        self.entities = entities or RuleEntities()
        self.min_terms = min_terms

    def prepare(self, turns: Sequence[Item]) -> None:
        """Before extracting from ``turns``: let a recogniser that batches (spaCy) read every
        sentence :meth:`extract` will ask it about at once."""
        prime = getattr(self.entities, "prime", None)
        if prime is not None:
            prime([sentence for turn in turns for sentence in self._sentences(turn.text)])

    @staticmethod
    def _sentences(text: str) -> list[str]:
        image = _IMAGE.search(text)
        if image:
            text = text[: image.start()]
        return [s for s in split_sentences(text) if _states(s)]

    def extract(self, turn: Item, participants: Sequence[str]) -> list[FactDraft]:
        speaker = turn.speaker
        others = [p for p in participants if p != speaker]
        listener = others[0] if len(others) == 1 else None
        text = turn.text
        image = _IMAGE.search(text)
        if image:
            text = text[: image.start()]
        facts: list[FactDraft] = []
        names = {p.lower() for p in participants}
        places: list[str] = []  # named earlier in the turn: "a job in Lisbon. I'm moving there (Lisbon)"
        for sentence in split_sentences(text):
            if not _states(sentence):
                continue
            resolved = resolve_persons(sentence, speaker, listener)
            slot, kind = self._slot(resolved, speaker, participants)
            if speaker and speaker not in resolved:
                resolved = f"{speaker}: {resolved}"
            entities = self._entities(sentence, resolved, speaker, listener)
            named_here = place_mentions(resolved, entities, participants)
            if places and not named_here and resolved != (there := name_there(resolved, places[-1])):
                resolved = there
                entities += [places[-1]] if places[-1] not in entities else []
            places += named_here
            dated, spans = annotate(resolved, turn.timestamp) if turn.timestamp else (resolved, [])
            if dated.strip() == text.strip():
                continue  # the whole turn, unchanged: a fact would only duplicate it
            substance = {t for t in content_terms(sentence) if t not in names}
            if not (
                slot
                or spans
                or set(entities) - set(participants)
                or len(substance) >= self.min_terms
                or names_activity(sentence)  # "I'm off to go swimming with the kids": what they do
            ):
                continue  # small talk ("Life sure can be a roller coaster") is left to the turn
            if kind == "statement":
                kind = "plan" if _PLAN.search(sentence) else "event" if spans or _PAST.search(sentence) else kind
            facts.append(
                FactDraft(
                    text=dated,
                    source=turn.id,
                    speaker=speaker,
                    timestamp=turn.timestamp,
                    kind=kind,
                    dates=date_records(spans),
                    entities=entities,
                    slot=slot,
                )
            )
        return facts

    def _entities(self, sentence: str, resolved: str, speaker: str | None, listener: str | None) -> list[str]:
        found = [re.sub(r"\s+and I$", "", name) for name in self.entities.entities(sentence)]
        for person in (speaker, listener):
            if person and person in resolved and person not in found:
                found.insert(0, person)
        return found

    @staticmethod
    def _slot(sentence: str, speaker: str | None, names: Sequence[str] = ()) -> tuple[Slot | None, str]:
        if not speaker:
            return None, "statement"
        for pattern, attribute, single, kind in _SLOT_PATTERNS:
            m = pattern.search(sentence)
            if m is None:
                continue
            if not _speaker_is_subject(sentence[: m.start()].rstrip(), speaker, m.group(0)):
                continue
            if attribute == "relation" and m.group("value").endswith("'s") and " is " in m.group(0):
                continue  # "Ann's husband is Bob's cousin": Bob is not the husband
            value = _clean_value(m.group("value"), attribute)
            if value is None or value in names:
                continue  # "Ann visited Bob": a participant is no place, title or activity
            if "what" in m.groupdict() and m.group("what"):
                attribute = f"{attribute}_{m.group('what').strip().lower().replace(' ', '_')}"
            return Slot(speaker, attribute, value, single=single), kind
        return None, "statement"
