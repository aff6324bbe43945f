"""Embedder specs → embedder instances.

=====================  ==========================================================
spec                   embedder
=====================  ==========================================================
``minilm``             all-MiniLM-L6-v2, int8 ONNX (default; installed package)
``minilm:/path.onnx``  the same model from a local ONNX file (sha256-checked)
``wordllama``          WordLlama l2_supercat 256-d static embeddings (fast tier)
``st:/path/to/model``  any sentence-transformers model folder (needs torch)
=====================  ==========================================================

Loaded models are cached per process: opening many memories does not reload weights.
"""

from __future__ import annotations

import functools
from pathlib import Path

from outcrop.config import MemoryConfig
from outcrop.errors import ConfigError
from outcrop.providers.base import Embedder
from outcrop.providers.onnx_minilm import LongTexts

__all__ = ["EMBEDDER_SPECS", "configured_embedder", "load_embedder"]

EMBEDDER_SPECS = ("minilm", "minilm:/path/model.onnx", "wordllama", "st:/path/to/model")


def load_embedder(spec: str = "minilm", *, threads: int = 0, long_texts: LongTexts = "windows") -> Embedder:
    """The embedder a spec names, one instance per (spec, threads, long_texts) in a process; raises
    :class:`ConfigError` for an unknown spec. ``threads`` caps the ONNX model's intra-op threads
    (0: onnxruntime's default, every core); ``long_texts`` is how the ONNX model reads a text
    longer than its window (:class:`~outcrop.providers.onnx_minilm.MiniLMOnnxEmbedder`; the other
    embedders read what they read)."""
    return _load(spec, threads, long_texts)  # one cache key however the caller spelled the arguments


def configured_embedder(config: MemoryConfig, spec: str | None = None) -> Embedder:
    """The embedder ``spec`` names (default: ``config.embedder``), with ``config``'s threads and
    reading of long texts."""
    return load_embedder(
        spec or config.embedder, threads=config.embedder_threads, long_texts=config.embedder_long_texts
    )


@functools.lru_cache(maxsize=8)
def _load(spec: str, threads: int, long_texts: LongTexts) -> Embedder:
    name, _, arg = spec.partition(":")
    if name == "minilm":
        from outcrop.providers.onnx_minilm import MiniLMOnnxEmbedder

        return MiniLMOnnxEmbedder(Path(arg) if arg else None, threads=threads, long_texts=long_texts)
    if name == "wordllama" and not arg:
        from outcrop.providers.wordllama_embedder import WordLlamaEmbedder

        return WordLlamaEmbedder()
    if name == "st" and arg:
        from outcrop.providers.sentence_transformers_embedder import SentenceTransformersEmbedder

        return SentenceTransformersEmbedder(arg)
    raise ConfigError(f"unknown embedder spec {spec!r}; expected one of: {', '.join(EMBEDDER_SPECS)}")
