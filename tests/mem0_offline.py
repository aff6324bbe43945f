"""The real mem0ai package, offline, for the mem0 parity and import tests (fixtures imported by
their modules or conftest): its environment is set before anything imports it (mem0 reads
``MEM0_TELEMETRY`` and ``MEM0_DIR`` at import), and a mem0 ``Memory`` factory whose embedder is
outcrop's own packaged MiniLM behind mem0's ``langchain`` provider (no torch), whose vector store
is a local Qdrant folder and whose LLM is never called (``infer=False``; it points at a closed
loopback port)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["MEM0_TELEMETRY"] = "False"  # else mem0 posts usage events
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("MEM0_DIR", tempfile.mkdtemp(prefix="mem0-home-"))  # not the user's ~/.mem0

from langchain_core.embeddings import Embeddings

from outcrop.providers import Embedder

CLOSED_PORT = "http://127.0.0.1:9/v1"  # the discard port: nothing listens, a call would fail at once


class OutcropEmbeddings(Embeddings):
    """outcrop's embedder as a LangChain ``Embeddings``: mem0 and the shim embed with one model."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self.embedder.embed(list(texts))]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def mem0_config(folder: Path, embedder: Embedder) -> dict[str, Any]:
    return {
        "embedder": {"provider": "langchain", "config": {"model": OutcropEmbeddings(embedder), "embedding_dims": 384}},
        "vector_store": {
            "provider": "qdrant",
            "config": {"path": str(folder / "qdrant"), "embedding_model_dims": 384, "collection_name": "mem0"},
        },
        "llm": {"provider": "openai", "config": {"api_key": "unused", "openai_base_url": CLOSED_PORT}},
        "history_db_path": str(folder / "history.db"),
    }


def close_mem0(m: Any) -> None:
    """Close a mem0 ``Memory`` wholly: its ``close()`` leaves the local Qdrant client (and the
    folder's lock) open."""
    m.close()
    client = getattr(getattr(m, "vector_store", None), "client", None)
    if client is not None:
        client.close()


@pytest.fixture
def offline_mem0() -> Iterator[None]:
    """mem0 with its spaCy parts off: with spaCy installed but not ``en_core_web_sm`` it downloads
    the model at the first add or search (the network); left to fail, it searches without them."""
    from mem0.utils import spacy_models

    saved = spacy_models._load_failed_full, spacy_models._load_failed_lemma
    spacy_models._load_failed_full = spacy_models._load_failed_lemma = True
    yield
    spacy_models._load_failed_full, spacy_models._load_failed_lemma = saved


@pytest.fixture
def real_mem0(tmp_path: Path, embedder: Embedder, offline_mem0: None) -> Iterator[Callable[[], Any]]:
    """A factory of real ``mem0.Memory`` objects on one local store (closed at the end)."""
    from mem0 import Memory

    made: list[Any] = []

    def make() -> Any:
        m = Memory.from_config(mem0_config(tmp_path / "mem0", embedder))
        made.append(m)
        return m

    yield make
    for m in made:
        close_mem0(m)
