"""DenseChannel's prefetch: the query is embedded on another thread while a search's first
statements run, and the dense channel takes that vector up: the same vector, embedded once."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from outcrop.providers import Embedder
from outcrop.providers.base import Vectors
from outcrop.retrieve.channels import DenseChannel
from outcrop.stores.registry import open_store

pytestmark = pytest.mark.integration  # the real embedding model


class Counting:
    """The real embedder, noting which thread embedded which texts."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.id, self.dim = inner, inner.id, inner.dim
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append((threading.current_thread().name, tuple(texts)))
        return self.inner.embed(texts)


@pytest.fixture
def channel(tmp_path: Path, embedder: Embedder) -> DenseChannel:
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    return DenseChannel(store, Counting(embedder))  # type: ignore[arg-type]


def test_a_prefetched_query_is_embedded_once_on_another_thread(channel: DenseChannel, embedder: Embedder) -> None:
    text = "Where did Ana move last month?"
    channel.prefetch(text)
    channel._pending.job[1].result(timeout=60)  # done before the channel asks (else it could be cancelled)
    vector = channel.query_vector(text)
    assert np.array_equal(vector, embedder.embed([text])[0])  # the vector embedding it here gives
    counting: Counting = channel.embedder  # type: ignore[assignment]
    [(thread, texts)] = counting.calls
    assert texts == (text,) and thread.startswith("outcrop-query-embed")
    assert np.array_equal(channel.query_vector(text), vector)  # cached: no second embedding
    assert len(counting.calls) == 1


def test_a_prefetch_of_another_text_is_not_taken_up(channel: DenseChannel, embedder: Embedder) -> None:
    channel.prefetch("What pets does Ben have?")
    asked = "Which city does Ana live in?"
    assert np.array_equal(channel.query_vector(asked), embedder.embed([asked])[0])
    counting: Counting = channel.embedder  # type: ignore[assignment]
    inline = [name for name, texts in counting.calls if texts == (asked,)]
    assert inline == [threading.current_thread().name]
