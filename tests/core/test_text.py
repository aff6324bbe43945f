import pytest

from memstrata.core.text import content_terms, estimate_tokens, validate_text
from memstrata.errors import InvalidInputError


def test_content_terms_drop_question_words_and_keep_order() -> None:
    assert content_terms("When did Caroline go to the LGBTQ support group?") == [
        "caroline",
        "lgbtq",
        "support",
        "group",
    ]


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
