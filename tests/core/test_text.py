import pytest

from outcrop.core.text import content_terms, estimate_tokens, query_terms, split_sentences, validate_text
from outcrop.errors import InvalidInputError


def test_content_terms_drop_question_words_and_keep_order() -> None:
    assert content_terms("When did Caroline go to the LGBTQ support group?") == [
        "caroline",
        "lgbtq",
        "support",
        "group",
    ]


def test_query_terms_drop_possessives_so_no_term_is_a_phrase() -> None:
    # "melanie's" would be the two-token phrase "melanie s" in both stores' tokenizers
    assert query_terms("What are Melanie's pets' names? Melanie’s dog's?") == ["melanie", "pets", "names", "dog"]
    assert content_terms("Melanie's dog") == ["melanie's", "dog"]  # other uses keep the word as written
    assert query_terms("it's Al's") == ["al"]  # what a stopword's possessive leaves is not a term


def test_validate_text_accepts_utf8_bytes() -> None:
    assert validate_text("café".encode(), max_chars=100) == "café"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        (b"\xff\xfe bad", "not valid UTF-8"),
        ("lone \udc80 surrogate", "not valid Unicode"),
        ("nul\x00byte", "NUL"),
        ("x" * 101, "limit is 100"),
        (42, "must be a string"),
    ],
)
def test_validate_text_rejects_bad_input_with_a_clear_message(value: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        validate_text(value, max_chars=100)


def test_estimate_tokens_grows_with_text() -> None:
    assert estimate_tokens("one") < estimate_tokens("one two three four five six")


def test_estimate_tokens_prices_ids_digits_and_other_scripts_like_a_bpe_tokenizer() -> None:
    # an item id is ~14 BPE tokens, not one word; digits go one by one; CJK about one per character
    assert estimate_tokens("t_01m8v6cmqz6jv5tmx0") >= 12
    assert estimate_tokens("2023") == 4
    assert estimate_tokens("我昨天去了北京的一个支持小组") >= 9
    assert estimate_tokens("") == 1


def test_estimates_of_lines_add_up_to_at_least_the_whole() -> None:
    """Rounding up per line: a packed context's priced lines never undercount its text."""
    lines = [
        "[1] Caroline: I went to the support group",
        "2023-05-08",
        "[2] Mel: t_01m8v6cmqz6jv5tmx0 ok",
        "Ünïcode wörds",
    ]
    assert sum(estimate_tokens(line) for line in lines) >= estimate_tokens("\n".join(lines))


def test_sentences_split_at_their_ends() -> None:
    assert split_sentences("I ran 5 km. Then I slept! Did you? ok") == ["I ran 5 km.", "Then I slept!", "Did you? ok"]
    assert split_sentences("  ") == []
    # closing quotes and brackets stay with the sentence they close
    assert split_sentences('I read "Little Women." Then I slept. (So good!) Next.') == [
        'I read "Little Women."',
        "Then I slept.",
        "(So good!)",
        "Next.",
    ]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("I love J.K. Rowling. Me too.", ["I love J.K. Rowling.", "Me too."]),
        ("George R. R. Martin wrote it.", ["George R. R. Martin wrote it."]),
        ("I met Dr. Smith in St. Louis. It was fun.", ["I met Dr. Smith in St. Louis.", "It was fun."]),
        ("Mr. and Mrs. Smith came. 2 days later they left.", ["Mr. and Mrs. Smith came.", "2 days later they left."]),
        ("We hiked Mt. Rainier.", ["We hiked Mt. Rainier."]),
        ("John F. Kennedy spoke.", ["John F. Kennedy spoke."]),
    ],
)
def test_an_initial_or_a_title_ends_no_sentence(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_a_word_that_only_looks_like_a_title_still_ends_its_sentence() -> None:
    # "first." and "Dre." are not on the list: their periods end sentences
    assert split_sentences("He came first. Then Dre. Then me.") == ["He came first.", "Then Dre.", "Then me."]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("So do I. Let's meet tomorrow.", ["So do I.", "Let's meet tomorrow."]),  # "I" is no initial
        ("It was plan B. Any ideas?", ["It was plan B.", "Any ideas?"]),  # nor a capital after a small word
        ("I moved to Washington D.C. Do you know anyone?", ["I moved to Washington D.C.", "Do you know anyone?"]),
        ("This is so good fr. I love it.", ["This is so good fr.", "I love it."]),  # titles are capitalised
        ("Martin Luther King Jr. He inspired me.", ["Martin Luther King Jr.", "He inspired me."]),
    ],
)
def test_an_abbreviation_before_a_new_sentence_still_ends_it(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_a_long_run_of_titles_and_initials_is_one_sentence() -> None:
    # 28,000 characters (a turn may hold 32,000): each break reads its last words only, so this takes
    # milliseconds (the first version re-read the sentence so far at each break: seconds)
    assert len(split_sentences("Dr. J. " * 4000)) == 1
