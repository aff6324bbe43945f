"""Text utilities: validation of incoming text, lexical terms, token estimates."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from outcrop.errors import InvalidInputError

__all__ = [
    "CHAT_WORDS",
    "FILLER",
    "STOPWORDS",
    "cased_words",
    "content_terms",
    "estimate_tokens",
    "named_words",
    "query_terms",
    "split_sentences",
    "validate_text",
    "without_possessive",
]

_WORD = re.compile(r"[\w']+", re.UNICODE)
_TOKENISH = re.compile(r"\w+|[^\w\s]", re.UNICODE)

# Question and auxiliary words: they carry no content and, in BM25, drown the words that do.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "cannot",
        "could",
        "couldn't",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "hadn't",
        "has",
        "hasn't",
        "have",
        "haven't",
        "having",
        "he",
        "he'd",
        "he'll",
        "he's",
        "her",
        "here",
        "here's",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "how's",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "let's",
        "me",
        "more",
        "most",
        "mustn't",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "shan't",
        "she",
        "she'd",
        "she'll",
        "she's",
        "should",
        "shouldn't",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "there's",
        "these",
        "they",
        "they'd",
        "they'll",
        "they're",
        "they've",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "wasn't",
        "we",
        "we'd",
        "we'll",
        "we're",
        "we've",
        "were",
        "weren't",
        "what",
        "what's",
        "when",
        "when's",
        "where",
        "where's",
        "which",
        "while",
        "who",
        "who's",
        "whom",
        "why",
        "why's",
        "with",
        "won't",
        "would",
        "wouldn't",
        "you",
        "you'd",
        "you'll",
        "you're",
        "you've",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "kind",
        "type",
        "sort",
        "likely",
        "ever",
        "also",
        "just",
        "really",
        "much",
        "many",
        "thing",
        "things",
        "something",
        "anything",
        "get",
        "got",
        "go",
        "going",
        "one",
    ]
)


# Conversational filler: fine in a question, useless (and slow) as a feedback expansion term.
FILLER = frozenset(
    "yeah yes oh wow hey hi thanks thank glad great good really lot lots bit sure totally definitely awesome "
    "amazing cool nice love like know think feel make made way time day well even still".split()
)

# Words of chat that are never names: interjections, greetings, thanks, praise, chat spellings, and the
# first words of idioms that open a sentence ("Fingers crossed!", "Tons of fun"). The capital a sentence's
# start gives them makes name recognisers (rules and spaCy's small English model alike) read "Woohoo",
# "Bummer", "Woah Joanna" or "Glad Max" as names.
CHAT_WORDS = frozenset(
    """
    ah aha ahh aw aww awww bummer bye cheers congrats congratulations dang darn duh eh gee geez gosh gotcha
    gonna gotta ha haha hahaha hehe hey hi hello hm hmm hmmm hooray huh kinda lemme lol looky meh nah nope oh
    ohh ok okay omg oops ooh oof ouch phew shh sorta thanks thank ugh uh um umm wanna welp whoa whoo woah woo
    woohoo wow ya yay yeah yep yes yikes yo yup yum yummy
    absolutely awesome cool definitely glad good great love nice really sounds super sure sweet totally
    fingers tons
    """.split()
)


def validate_text(text: object, *, max_chars: int, what: str = "text") -> str:
    """Return ``text`` as a clean ``str`` or raise :class:`InvalidInputError`.

    Accepts ``str`` or UTF-8 ``bytes``; rejects empty or whitespace-only text, text over
    ``max_chars``, NUL characters, and strings that cannot be encoded as UTF-8 (lone surrogates).
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{what} is not valid UTF-8 (byte {exc.start}: {exc.reason})") from None
    if not isinstance(text, str):
        raise InvalidInputError(f"{what} must be a string, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(f"{what} is not valid Unicode text (position {exc.start}: {exc.reason})") from None
    if "\x00" in text:
        raise InvalidInputError(f"{what} contains a NUL character")
    if not text.strip():
        raise InvalidInputError(f"{what} is empty")
    if len(text) > max_chars:
        raise InvalidInputError(
            f"{what} has {len(text):,} characters; the limit is {max_chars:,} (config max_text_chars)"
        )
    return text


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return [w.lower() for w in cased_words(text)]


def cased_words(text: str) -> list[str]:
    """Word tokens as written (:func:`words` lower-cases them)."""
    return [w.strip("'") for w in _WORD.findall(text) if w.strip("'")]


def without_possessive(word: str) -> str:
    """``word`` without a trailing ``'s`` (straight or curly apostrophe)."""
    return word.removesuffix("'s").removesuffix("’s")


def named_words(text: str) -> set[str]:
    """The lower-cased words of ``text`` with possessives dropped ("Maria's" -> "maria"): what a
    question says, to match participants' and entities' names against."""
    return {without_possessive(w) for w in words(text)}


def content_terms(text: str) -> list[str]:
    """Words that carry content: no stopwords, no single characters, in order, unique."""
    return _carrying_content(words(text))


def query_terms(text: str) -> list[str]:
    """A query's words for lexical search: :func:`content_terms` with possessives dropped
    ("Melanie's" is "melanie"), so that no term is a phrase of two tokens ("melanie s") that a
    store has to match by position."""
    return _carrying_content(without_possessive(w) for w in words(text))


def _carrying_content(candidates: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(w for w in candidates if len(w) > 1 and w not in STOPWORDS))


# A sentence ends at . ! or ? (and closing quotes or brackets) before a space and a capital or digit ...
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"')\]]*(\s+)(?=[\"'(\[]?[A-Z0-9])")
# ... unless the period closes an initial ("J.K. Rowling", "George R. R. Martin") or a title or place
# abbreviation that a name follows ("Dr. Smith", "St. Louis") and the next word is no function word
# ("... in Washington D.C. Do you ...", "... like Caroline and I. What ..." do end there). A lone capital
# is an initial only after a capitalised word or another initial ("John F. Kennedy", not "plan B.").
# Abbreviations that as often end a sentence ("etc.", "Inc.", "No.", "Jr.") are not listed: a missed
# break joins two sentences, a false one cuts a name in two.
_BEFORE_NAME = frozenset("Mr Mrs Ms Mx Dr Prof Rev Fr St Mt Ft Gen Col Capt Lt Sgt Cpl Gov Sen Rep Pres Hon".split())
_LAST_WORDS = re.compile(r"(?:^|[\s(\"'])(?:(\S+)\s+)?((?:[A-Za-z]\.)*[A-Za-z]+)\.$")
_NEXT_WORD = re.compile(r"[\"'(\[]?([\w']+)")
_TAIL = 80  # characters before a break that decide it (the last two words), so a split stays linear


def split_sentences(text: str) -> list[str]:
    """``text`` cut into sentences, each stripped; an initial or a title's period ends none."""
    text = text.strip()
    sentences: list[str] = []
    start = 0
    for boundary in _SENTENCE_BREAK.finditer(text):
        following = _NEXT_WORD.match(text, boundary.end())
        if _closes_abbreviation(text[max(start, boundary.start() - _TAIL) : boundary.start()]) and not (
            following and following.group(1).lower() in STOPWORDS
        ):
            continue
        sentences.append(text[start : boundary.start(1)])  # closing quotes and brackets stay with it
        start = boundary.end()
    sentences.append(text[start:])
    return [sentence.strip() for sentence in sentences if sentence.strip()]


def _closes_abbreviation(before: str) -> bool:
    """Whether the period ending ``before`` closes an initial ("J.", "J.K.") or a title ("Dr.")."""
    last = _LAST_WORDS.search(before)
    if last is None:
        return False
    previous, word = last.group(1) or "", last.group(2)
    if "." in word:  # "J.K", "D.C": letters with periods between them
        return all(len(part) == 1 for part in word.split("."))
    if len(word) == 1:  # "F." of "John F. Kennedy", "R." of "George R. R. Martin"; not "I.", "plan B."
        return word.isupper() and word not in {"I", "A"} and previous[:1].isupper()
    return word in _BEFORE_NAME


_WIDE = 0.7  # tokens per CJK character (Qwen2.5: 0.55 to 0.65)
_GREEK = 1.1  # tokens per Greek letter (few Greek words in byte-level BPE vocabularies)
_NARROW = 0.4  # tokens per character of other non-ASCII words (Cyrillic, Arabic, accented Latin)


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate of LLM (BPE) tokens, priced piece by piece, rounded up.

    Calibrated against a real BPE tokenizer (Qwen2.5's, which splits numbers digit by digit) on
    packed LoCoMo contexts of 1000 estimated tokens: real/estimate median 0.975, 95th percentile
    1.00, worst 1.01 over 100 contexts of conv-26 (`bench/token_estimate.py`). The earlier flat
    1.15 tokens per word counted an item id ("t_01m8v6cmqz6jv5tmx0", 14 real tokens) as one, and
    a "1000-token" context held about 1360 real tokens. Rounding up makes the estimates of a text's lines add up to at least the
    estimate of the whole, so a packed context never exceeds its budget."""
    return max(1, math.ceil(sum(_piece_tokens(piece) for piece in _TOKENISH.findall(text))))


def _piece_tokens(piece: str) -> float:
    if not (piece[0].isalnum() or piece[0] == "_"):
        return 1.0  # punctuation
    if not piece.isascii():  # other scripts: byte-level BPE vocabularies hold fewer of their words
        wide = sum(1 for ch in piece if ord(ch) >= 0x2E80)  # CJK, kana, hangul
        greek = sum(1 for ch in piece if 0x0370 <= ord(ch) <= 0x03FF)
        return max(1.0, wide * _WIDE + greek * _GREEK + (len(piece) - wide - greek) * _NARROW)
    if piece.isdigit():
        return float(len(piece))  # digit by digit (tokenizers that group three make this an upper bound)
    if piece.isalpha():
        return 1.0 if len(piece) <= 7 else 1.0 + (len(piece) - 7) / 5  # common words whole, long ones in parts
    return len(piece) / 1.45  # ids and codes, letters and digits mixed: short sub-word pieces
