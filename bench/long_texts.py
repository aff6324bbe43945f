"""Long texts through the default embedder: its first window, all its windows pooled, or its best window.

    python bench/long_texts.py [--data ../shared/data/locomo/locomo-dev.json]

A LoCoMo session read as one document (its date, then each turn as "speaker: text"; 300–1,300
word pieces, far past the 128 the model reads at once) is a long text with known questions about
it: for each scored question, the sessions of its conversation are ranked by the cosine of their
vector to the question's, and a hit is a session holding one of the question's evidence turns.

Rows: ``cut``, the first window only (``MiniLMOnnxEmbedder(long_texts="cut")``); ``windows``,
every word piece pooled, each seen in its own window (``long_texts="windows"``, the default);
``best window``, each window its own vector and a session scored by its best one (a reference:
what one vector per window would give, which the stores do not keep). Prints hit@1 and hit@3
(a session with evidence first / among the first three), R@3 (evidence sessions among the first
three) and MRR, in percent, and the CPU seconds each row took to embed the sessions.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
from locomo_sample import DEFAULT_DATA

from outcrop.providers.base import Vectors
from outcrop.providers.onnx_minilm import MiniLMOnnxEmbedder

SCORED = (1, 2, 3, 4)  # multi-hop, temporal, open-domain, single-hop; adversarial is left out


def sessions_as_documents(conversation: dict[str, object]) -> dict[int, str]:
    numbers = sorted(int(key.split("_")[1]) for key in conversation if re.fullmatch(r"session_\d+", key))
    documents = {}
    for number in numbers:
        turns = conversation[f"session_{number}"]
        assert isinstance(turns, list)
        lines = [str(conversation[f"session_{number}_date_time"])]
        lines += [f"{turn['speaker']}: {turn['text']}" for turn in turns]
        documents[number] = "\n".join(lines)
    return documents


def best_window_vectors(embedder: MiniLMOnnxEmbedder, text: str) -> Vectors:
    """One vector per 128-word-piece window of the text (each window's text from its offsets)."""
    encoding = embedder._tokenizer.encode(text)
    parts = []
    for window in [encoding, *encoding.overflowing]:
        spans = [span for span in window.offsets if span != (0, 0)]  # [CLS] and [SEP] have none
        parts.append(text[spans[0][0] : spans[-1][1]])
    return embedder.embed(parts)


def word_pieces(embedder: MiniLMOnnxEmbedder, text: str) -> int:
    encoding = embedder._tokenizer.encode(text)
    windows = [encoding, *encoding.overflowing]
    return sum(len(window.ids) - 2 for window in windows)  # without each window's [CLS] and [SEP]


def evidence_sessions(question: dict[str, object]) -> set[int]:
    evidence = question.get("evidence") or []
    assert isinstance(evidence, list)
    return {int(match.group(1)) for item in evidence if (match := re.match(r"D(\d+):", str(item)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    embedders = {"cut": MiniLMOnnxEmbedder(long_texts="cut"), "windows": MiniLMOnnxEmbedder(long_texts="windows")}
    rows: dict[str, list[tuple[float, ...]]] = {"cut": [], "windows": [], "best window": []}
    seconds = dict.fromkeys(rows, 0.0)
    pieces: list[int] = []
    for sample in json.loads(args.data.read_text()):
        documents = sessions_as_documents(sample["conversation"])
        numbers = list(documents)
        texts = list(documents.values())
        pieces += [word_pieces(embedders["cut"], text) for text in texts]
        questions = [q for q in sample["qa"] if q.get("category") in SCORED and evidence_sessions(q)]
        asked = embedders["cut"].embed([str(q["question"]) for q in questions])
        session_vectors: dict[str, list[Vectors]] = {}
        for name in rows:
            start = time.process_time()
            if name == "best window":
                session_vectors[name] = [best_window_vectors(embedders["cut"], text) for text in texts]
            else:
                session_vectors[name] = [vector[None, :] for vector in embedders[name].embed(texts)]
            seconds[name] += time.process_time() - start
        for question, query in zip(questions, asked, strict=True):
            wanted = evidence_sessions(question)
            for name, vectors in session_vectors.items():
                scores = np.array([float((matrix @ query).max()) for matrix in vectors])
                ranked = [numbers[i] for i in np.argsort(-scores, kind="stable")]
                first = min(ranked.index(n) for n in wanted if n in ranked)
                rows[name].append(
                    (ranked[0] in wanted, first < 3, len(wanted & set(ranked[:3])) / len(wanted), 1 / (1 + first))
                )
    print(
        f"{len(rows['cut'])} questions; {len(pieces)} sessions as documents:"
        f" median {int(np.median(pieces))} word pieces ({min(pieces)}–{max(pieces)})"
    )
    print("| session vector | hit@1 | hit@3 | R@3 | MRR | embed CPU s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, scored in rows.items():
        hit1, hit3, recall3, mrr = (100 * np.array(scored, dtype=float)).mean(axis=0)
        print(f"| {name} | {hit1:.1f} | {hit3:.1f} | {recall3:.1f} | {mrr:.1f} | {seconds[name]:.1f} |")


if __name__ == "__main__":
    main()
