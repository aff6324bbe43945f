"""Entity recognisers: spaCy's packaged small English model and the capitalisation rules."""

from __future__ import annotations

from outcrop.strata.entities import RuleEntities, SpacyEntities, default_recognizer

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
