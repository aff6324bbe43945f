"""Any sentence-transformers model from a local folder (needs ``sentence-transformers`` and torch)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from outcrop.errors import ProviderError
from outcrop.providers.base import Vectors, normalise

__all__ = ["SentenceTransformersEmbedder"]


class SentenceTransformersEmbedder:
    def __init__(self, path: str, *, batch_size: int = 64) -> None:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise ProviderError(f"sentence-transformers model folder not found: {folder}")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ProviderError("sentence-transformers is not installed: pip install sentence-transformers") from None
        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.dim = int(self._model.get_sentence_embedding_dimension() or 0)
        self.id = f"st:{folder.resolve().name}:{self.dim}"
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> Vectors:
        vectors = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True)
        return normalise(vectors)
