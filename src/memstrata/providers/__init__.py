"""Embedding models (and, later, LLMs and rerankers) behind narrow protocols."""

from memstrata.providers.base import Embedder
from memstrata.providers.registry import load_embedder

__all__ = ["Embedder", "load_embedder"]
