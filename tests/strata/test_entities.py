"""Entity recognisers: spaCy's packaged small English model and the capitalisation rules."""

from __future__ import annotations

from outcrop.strata.entities import RuleEntities, SpacyEntities, default_recognizer, without_chat_words

SENTENCE = "Melanie took the kids camping with her husband Tom near Lake Tahoe for the Fourth of July."


def test_spacy_model_is_loaded_from_the_installed_package() -> None:
    recognizer = default_recognizer("spacy")
    assert isinstance(recognizer, SpacyEntities) and recognizer.id.startswith("entities.spacy:en_core_web_sm")
    found = recognizer.entities(SENTENCE)
    assert {"Melanie", "Tom"} <= set(found)
    assert all(not e.endswith("'s") for e in recognizer.entities("Caroline's mentor met Jonas in Berlin."))


def test_auto_prefers_spacy_when_installed_and_rules_can_be_forced() -> None:
    assert isinstance(default_recognizer("auto"), SpacyEntities)
    assert isinstance(default_recognizer("rules"), RuleEntities)


def test_rules_find_capitalised_runs_but_not_a_lone_sentence_initial_word() -> None:
    # "Melanie" opens the sentence, where any word is capitalised; the fact extractor adds the
    # participants itself, so the rules can afford to skip it.
    assert RuleEntities().entities(SENTENCE) == ["Tom", "Lake Tahoe", "Fourth of July"]


# Chat that spaCy's small model reads as names (each labelled an episode of LoCoMo's conversations:
# "Conversation on 23 January 2022 between Joanna and Nate about Woohoo, Awww").
CHAT = [
    ("Woohoo, thanks Nate!", ["Nate"]),
    ("Woah Joanna, I won an international tournament!", ["Joanna"]),
    ("Glad Max liked it.", ["Max"]),
    ("Yep John, I did.", ["John"]),
    ("Fingers crossed!", []),
    ("Bummer, that sucks.", []),
    ("Awww, that is sweet.", []),
]


def test_chat_words_come_off_spacys_names() -> None:
    recognizer = default_recognizer("spacy")
    for sentence, names in CHAT:
        found = [name for name in map(without_chat_words, recognizer.entities(sentence)) if name is not None]
        assert found == names, sentence


def test_rules_skip_chat_words() -> None:
    for sentence, names in CHAT:
        assert RuleEntities().entities(sentence) == names, sentence


def test_names_opening_a_sentence_or_led_by_a_stopword_keep_their_words() -> None:
    assert without_chat_words("Pixie") == "Pixie"
    assert without_chat_words("the Grand Canyon") == "the Grand Canyon"
    assert without_chat_words("The Name of the Wind") == "The Name of the Wind"
    assert without_chat_words("Great Britain") == "Great Britain"  # praise opens names too
    assert without_chat_words("Ha Long Bay") == "Ha Long Bay"  # a longer name keeps its first word
    assert without_chat_words("Thank You") is None
    assert without_chat_words("Catch ya later") is None  # an episode of LoCoMo was "about ... Catch ya later"
    assert without_chat_words("Lord of the Rings") == "Lord of the Rings"
    assert without_chat_words("Love") is None  # but alone is none
    assert without_chat_words("ya") is None  # nothing capitalised
    assert without_chat_words("the kids & work") is None


def test_rules_keep_a_chat_word_that_opens_a_name_inside_a_sentence() -> None:
    assert RuleEntities().entities("We watched the Super Bowl with Tom.") == ["Super Bowl", "Tom"]
    assert RuleEntities().entities("We sang Sweet Caroline at the bar.") == ["Sweet Caroline"]
