"""Small talk out of a context's turn lines: "Thanks, Mel!", "Wow, that's great!", "What's up?".

A chat turn is often a greeting or a compliment around one sentence that says something; in a
1,000-token context those sentences cost a tenth of the turns' tokens (LoCoMo dev: 10,345 of
104,842) and answer nothing. A sentence is small talk when every word of it is a stopword,
conversational filler, a word of the list below or a participant's name (or the first letters of
one, "Mel" for Melanie); a sentence with any other word stays ("Congrats on the promotion!"). A
turn made only of small talk keeps its text: it was chosen for something, and is shown as said.

The stored item is not changed; only its line in a context is shorter, under the same citation.
LoCoMo dev, on the kept stores: context coverage @1000 +0.2, answer words in the context +0.4
(docs/decisions.md, "Context packing").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from outcrop.core.text import FILLER, STOPWORDS, without_possessive, words

__all__ = ["SMALL_TALK", "participant_names", "without_small_talk"]

# Words of greetings, thanks, praise and asking back; with STOPWORDS and FILLER.
SMALL_TALK = frozenset(
    """
    hello thank congrats congratulations luck fun sounds sound incredible wonderful fantastic lovely sweet super
    fab fabulous cute neat wicked rad okay ok alright agreed agree absolutely exactly indeed right haha lol omg
    whoa yay woo hooray aww aw ah ooh um hmm yep yup nope hope hoping doing glad happy proud means meant
    appreciate appreciated care cares chat chatting talk talking talked catch catching hear hearing heard see
    seeing share sharing shared tell telling soon later bye take keep guess cheers beautiful gorgeous stunning
    interesting inspiring inspire inspires inspired impressive touching special experience thing things stuff
    everything anything something part moment moments
    """.split()
)
_VOCABULARY = STOPWORDS | FILLER | SMALL_TALK
# Any end mark before a space: unlike core.text.split_sentences (prose, a capital after the break),
# "Wow! [shared an image: ...]" and "Thanks Mel! so glad" must come apart here.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_NICKNAME = 3  # the shortest first letters of a name taken as the name ("Mel", "Jo")


def participant_names(participants: Iterable[str]) -> frozenset[str]:
    """The lower-cased words of the participants' names and their first letters (at least three)."""
    names: set[str] = set()
    for participant in participants:
        for word in words(participant):
            names.update(word[:end] for end in range(_NICKNAME, len(word) + 1))
            names.add(word)
    return frozenset(names)


def is_small_talk(sentence: str, names: frozenset[str]) -> bool:
    return all(w in _VOCABULARY or w in names for w in (without_possessive(w) for w in words(sentence)))


def without_small_talk(text: str, names: frozenset[str]) -> str:
    """``text`` without its sentences of small talk; unchanged when every sentence is one."""
    sentences = _SENTENCE_END.split(text)
    kept = [s for s in sentences if not is_small_talk(s, names)]
    if not kept or len(kept) == len(sentences):
        return text
    return " ".join(kept)
