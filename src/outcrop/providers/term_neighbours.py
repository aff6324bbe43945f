"""Neighbours of a word in a static embedding vocabulary: WordLlama's token space.

"What are Audrey's pets?" shares no word with "my pup loves the dog park"; in WordLlama's token
embeddings (l2_supercat, 256-d, trained for sentence similarity) "pets" lies near "pet", "dog",
"pup" and "animal". :class:`TermNeighbours` answers ``neighbours("pets")`` with those words and
their cosine, for query term expansion (retrieve/expansion.py).

The vocabulary is the tokenizer's whole-word tokens (a leading "▁", lower-case letters, three or
more: ~9,000 words); a term outside it (most plurals, rarer words) is embedded from its subword
tokens as WordLlama embeds any text, then compared with the same vocabulary. Loading reads the
package's files (no download): ~0.4 s, ~9 MB of vectors.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from outcrop.errors import ProviderError, install_hint
from outcrop.providers.base import Vectors, normalise

__all__ = ["TermNeighbours", "term_neighbours"]

_WORD = re.compile(r"[a-z]{3,}")


class TermNeighbours:
    """``neighbours(term, k, floor)``: up to ``k`` vocabulary words with cosine ≥ ``floor``."""

    id = "wordllama:l2_supercat_256:tokens"

    def __init__(self) -> None:
        try:
            import wordllama
        except ImportError:
            raise ProviderError("wordllama is not installed: " + install_hint("wordllama")) from None
        package_dir = Path(wordllama.__file__).parent
        try:
            model = wordllama.WordLlama.load(
                config="l2_supercat", dim=256, cache_dir=package_dir, disable_download=True
            )
        except FileNotFoundError as exc:
            raise ProviderError(f"wordllama weights not found in {package_dir}: {exc}") from None
        self._model = model
        table = np.asarray(model.embedding, dtype=np.float32)
        vocabulary = sorted(
            (index, token[1:])
            for token, index in model.tokenizer.get_vocab().items()
            if token.startswith("▁") and _WORD.fullmatch(token[1:]) and index < len(table)
        )
        self.words = [word for _, word in vocabulary]
        self._index = {word: n for n, word in enumerate(self.words)}
        self._vectors: Vectors = normalise(table[[index for index, _ in vocabulary]])
        # queries repeat their words: a term's neighbours are kept for the last 4096 terms asked
        self._nearest = lru_cache(maxsize=4096)(self._search)

    def vector(self, term: str) -> Vectors:
        """The unit vector of ``term``: its own token's, or WordLlama's embedding of the word."""
        found = self._index.get(term)
        if found is not None:
            own: Vectors = self._vectors[found]
            return own
        embedded: Vectors = normalise(np.asarray(self._model.embed([term], norm=True)))[0]
        return embedded

    def neighbours(self, term: str, k: int, floor: float) -> list[tuple[str, float]]:
        """The ``k`` vocabulary words nearest ``term`` (not itself), best first, cosine ≥ ``floor``."""
        return list(self._nearest(term.lower(), k, floor))

    def _search(self, term: str, k: int, floor: float) -> tuple[tuple[str, float], ...]:
        similarity = self._vectors @ self.vector(term)
        order = np.argsort(-similarity)[: k + 1]
        found = [(self.words[n], float(similarity[n])) for n in order if self.words[n] != term]
        return tuple((word, score) for word, score in found[:k] if score >= floor)


@lru_cache(maxsize=1)
def term_neighbours() -> TermNeighbours:
    """The process's one vocabulary (loaded on first use)."""
    return TermNeighbours()
