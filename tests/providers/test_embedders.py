import numpy as np
import pytest

from outcrop.errors import ConfigError, ProviderError
from outcrop.providers import Embedder, load_embedder
from outcrop.providers.base import first_window_only
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


HEAD = "Audrey adopted a rescue dog named Pepper. " * 20  # ~180 word pieces: two windows of 128


def test_a_long_text_is_read_in_windows_and_pooled_whole() -> None:
    """Past the 128 word pieces the model reads at once, a text's words still move its vector:
    two texts alike for their first window differ, and a question about the end of a long text is
    nearer to it than to its first window alone."""
    texts = [HEAD + "She loves hiking.", HEAD + "Tax filings are due in April next year."]
    windows = MiniLMOnnxEmbedder()
    cut = MiniLMOnnxEmbedder(long_texts="cut")
    whole, first = windows.embed(texts), cut.embed(texts)
    assert np.array_equal(first[0], first[1])
    assert not np.allclose(whole[0], whole[1], atol=1e-3)
    question = windows.embed(["When are the tax filings due?"])[0]
    assert question @ whole[1] > question @ first[1] + 0.05
    assert question @ whole[1] > question @ whole[0] + 0.05
    assert np.allclose(np.linalg.norm(whole, axis=1), 1.0, atol=1e-5)


def test_windows_leave_short_texts_and_batching_alone() -> None:
    """A text within one window gets the same vector whether long texts are cut or read whole, and
    a long text's vector does not depend on the texts embedded beside it."""
    windows, cut = MiniLMOnnxEmbedder(batch_size=3), MiniLMOnnxEmbedder(long_texts="cut")
    short = ["When did Ann move to Lisbon?", "I adopted a puppy."]
    assert np.allclose(windows.embed(short), cut.embed(short), atol=1e-6)
    mixed = [HEAD + "She loves hiking.", *short, HEAD * 3, "ok"]
    together = windows.embed(mixed)
    alone = np.vstack([windows.embed([text]) for text in mixed])
    assert np.allclose(together, alone, atol=1e-5)


def test_the_window_can_be_256_word_pieces() -> None:
    """The sentence-transformers configuration's length: a first window of 256 holds both endings."""
    texts = [HEAD + "She loves hiking.", HEAD + "Tax filings are due in April next year."]
    longer = MiniLMOnnxEmbedder(max_tokens=256, long_texts="cut").embed(texts)
    assert not np.allclose(longer[0], longer[1], atol=1e-4)


@pytest.mark.parametrize(
    "setting", [{"max_tokens": 0}, {"max_tokens": 2}, {"max_tokens": 257}, {"long_texts": "middle"}]
)
def test_a_window_outside_the_models_positions_or_an_unknown_mode_is_refused(setting: dict[str, object]) -> None:
    with pytest.raises(ProviderError, match=next(iter(setting))):
        MiniLMOnnxEmbedder(**setting)  # type: ignore[arg-type]


def test_first_window_only_is_the_same_model_cutting_long_texts() -> None:
    """The strata's reader: one model session, the first window of a long text; an embedder that
    cannot read otherwise (WordLlama averages every token) is used as it is."""
    windows = MiniLMOnnxEmbedder()
    narrowed = first_window_only(windows)
    assert narrowed is not windows and narrowed._session is windows._session
    assert windows.long_texts == "windows"  # the original keeps reading whole
    texts = [HEAD + "She loves hiking.", HEAD + "Tax filings are due in April next year."]
    assert np.allclose(narrowed.embed(texts), MiniLMOnnxEmbedder(long_texts="cut").embed(texts), atol=1e-6)
    assert first_window_only(narrowed) is narrowed
    wordllama = load_embedder("wordllama")
    assert first_window_only(wordllama) is wordllama
