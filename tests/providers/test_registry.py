"""The embedder registry: one instance per model and thread count in a process."""

from __future__ import annotations

import pytest

from outcrop.providers import load_embedder


@pytest.mark.integration
def test_one_instance_per_spec_however_the_threads_are_spelled() -> None:
    default = load_embedder("minilm")
    assert load_embedder("minilm", threads=0) is default
    assert load_embedder(spec="minilm") is default
    assert load_embedder("minilm", threads=1) is not default
