"""The lexical text PostgreSQL indexes (``bm25.normalize``): an ASCII text skips the pass over
combining marks, and must come out as the full pass makes it."""

from __future__ import annotations

import re
import unicodedata

from outcrop.stores.postgres.bm25 import normalize


def _full_pass(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(t for t in re.split(r"[\W_]+", bare) if t)


def test_ascii_and_accented_texts_normalise_as_the_full_pass() -> None:
    texts = [
        "Caroline: I went to a LGBTQ support group yesterday -- it was SO powerful!",
        "snake_case and 2023's dates, O'Brien",
        "Café Über naïve Ångström São Paulo",
        "ﬁne ligature, Straße, İstanbul",
        "",
    ]
    for text in texts:
        assert normalize(text) == _full_pass(text)
    assert normalize("Café naïve") == "cafe naive"
