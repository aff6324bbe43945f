"""Embedding models (and, later, LLMs and rerankers) behind narrow protocols."""

from outcrop.providers.base import Embedder
from outcrop.providers.registry import load_embedder

__all__ = ["Embedder", "load_embedder"]
