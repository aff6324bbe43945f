import numpy as np
import pytest

from outcrop.errors import ConfigError, ProviderError
from outcrop.providers import Embedder, load_embedder
from outcrop.providers.onnx_minilm import MiniLMOnnxEmbedder


def test_default_model_gives_unit_vectors_with_meaningful_similarity(embedder: Embedder) -> None:
    vectors = embedder.embed(["I adopted a puppy.", "We got a new dog.", "Quarterly tax filing deadline."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_batching_and_order_do_not_change_vectors(embedder: Embedder) -> None:
    texts = [f"sentence {i} " + "word " * (i % 7) for i in range(70)]
    together = embedder.embed(texts)
    one_by_one = np.vstack([embedder.embed([t]) for t in texts[:5]])
    assert np.allclose(together[:5], one_by_one, atol=1e-4)


def test_idle_threads_sleep_and_the_vectors_stay_the_same() -> None:
    """A spinning intra-op pool doubled the CPU time of embedding one query; turning the spin off
    must not change a single bit of any vector."""
    import onnxruntime as ort

    embedder = MiniLMOnnxEmbedder()
    options = embedder._session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    texts = ["When did Ann move to Lisbon?", "I adopted a puppy last week. " * 12]
    sleeping = embedder.embed(texts)
    embedder._session = ort.InferenceSession(embedder._session._model_path, providers=["CPUExecutionProvider"])
    assert np.array_equal(embedder.embed(texts), sleeping)


def test_model_file_is_checked_against_its_pinned_hash(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(ProviderError, match="sha256"):
        MiniLMOnnxEmbedder(fake)


def test_wordllama_fast_tier_loads_from_the_package() -> None:
    wordllama = load_embedder("wordllama")
    vectors = wordllama.embed(["cats and dogs", "kittens and puppies", "stock market"])
    assert vectors.shape == (3, 256)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_unknown_spec_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown embedder"):
        load_embedder("nope")


def test_a_text_is_embedded_from_its_first_128_word_pieces() -> None:
    """The length the model was trained on: two texts alike for their first 128 word pieces get one
    vector (the strata's growing views are re-embedded for less than half the cost); with the
    sentence-transformers configuration's 256 they do not."""
    head = "Audrey adopted a rescue dog named Pepper. " * 20  # ~180 word pieces
    texts = [head + "She loves hiking.", head + "Tax filings are due in April next year."]
    default = MiniLMOnnxEmbedder()
    one = default.embed(texts)
    assert np.array_equal(one[0], one[1])
    longer = MiniLMOnnxEmbedder(max_tokens=256)
    two = longer.embed(texts)
    assert not np.allclose(two[0], two[1], atol=1e-4)
    short = ["When did Ann move to Lisbon?"]  # under 128 word pieces: the same vector either way
    assert np.array_equal(default.embed(short), longer.embed(short))


@pytest.mark.parametrize("max_tokens", [0, 257])
def test_a_cut_outside_the_models_positions_is_refused(max_tokens: int) -> None:
    with pytest.raises(ProviderError, match="max_tokens"):
        MiniLMOnnxEmbedder(max_tokens=max_tokens)
