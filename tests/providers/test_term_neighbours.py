"""Neighbours of a word in WordLlama's token space (the real package's weights)."""

from __future__ import annotations

import itertools

import pytest

from outcrop.providers.term_neighbours import term_neighbours

pytestmark = pytest.mark.integration


def test_neighbours_are_related_words_best_first_above_the_floor() -> None:
    vocabulary = term_neighbours()
    found = vocabulary.neighbours("dog", 5, 0.4)
    words = [w for w, _ in found]
    assert "dog" not in words and {"dogs", "pet"} <= set(words)
    assert all(a >= b for (_, a), (_, b) in itertools.pairwise(found))
    assert all(score >= 0.4 for _, score in found)
    assert vocabulary.neighbours("dog", 5, 0.99) == []


def test_a_word_outside_the_vocabulary_is_embedded_from_its_pieces() -> None:
    vocabulary = term_neighbours()
    assert "kids" not in vocabulary.words
    assert "children" in [w for w, _ in vocabulary.neighbours("kids", 3, 0.5)]
