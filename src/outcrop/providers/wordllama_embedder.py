"""The fast tier: WordLlama static embeddings (256-d), loaded from the installed package only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from outcrop.errors import ProviderError, install_hint
from outcrop.providers.base import Vectors, normalise

__all__ = ["WordLlamaEmbedder"]


class WordLlamaEmbedder:
    id = "wordllama:l2_supercat_256"
    dim = 256

    def __init__(self, *, batch_size: int = 512) -> None:
        try:
            import wordllama
        except ImportError:
            raise ProviderError("wordllama is not installed: " + install_hint("wordllama")) from None
        package_dir = Path(wordllama.__file__).parent
        # WordLlama.load() looks for its files in a cache folder and downloads when missing;
        # pointing the cache at the package folder with downloads disabled loads the shipped files.
        try:
            self._model = wordllama.WordLlama.load(
                config="l2_supercat", dim=256, cache_dir=package_dir, disable_download=True
            )
        except FileNotFoundError as exc:
            raise ProviderError(f"wordllama weights not found in {package_dir}: {exc}") from None
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> Vectors:
        return normalise(self._model.embed(list(texts), norm=True, batch_size=self.batch_size))
