"""Long texts through the default embedder: its first window, all its windows pooled, or its best window.

    python bench/long_texts.py [--data ../shared/data/locomo/locomo-dev.json] [--pipeline]

A LoCoMo session read as one document (each turn as "speaker: text"; 330–1,590
word pieces, far past the 128 the model reads at once) is a long text with known questions about
it: for each scored question, the sessions of its conversation are ranked by the cosine of their
vector to the question's, and a hit is a session holding one of the question's evidence turns.

Rows: ``cut``, the first window only (``MiniLMOnnxEmbedder(long_texts="cut")``); ``windows``,
every word piece pooled, each seen in its own window (``long_texts="windows"``, the default);
``best window``, each window its own vector and a session scored by its best one (a reference:
what one vector per window would give, which the stores do not keep). Prints hit@1 and hit@3
(a session with evidence first / among the first three), R@3 (evidence sessions among the first
three) and MRR, in percent, and the CPU seconds each row took to embed the sessions.

``--pipeline`` (some ten minutes more): the same documents through the whole default engine, one
``Memory.add`` of one message per session (with its time), strata inline, for each setting of the
embedder; a question's hits (``Memory.search``, 20) are read as the sessions they come from, in
order: hit@1 / 3 / 5 and MRR of the first session with evidence, and the ingest CPU seconds. Here
a document is also split into sentence facts, each embedded on its own, and BM25 reads all of it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import cast

import numpy as np
from locomo_sample import DEFAULT_DATA

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Level
from outcrop.eval.cases import EvalCase, EvalQuestion, EvalSession
from outcrop.eval.locomo import load_locomo, locomo_cases
from outcrop.providers.base import Vectors
from outcrop.providers.onnx_minilm import LongTexts, MiniLMOnnxEmbedder

SCORED = (1, 2, 3, 4)  # multi-hop, temporal, open-domain, single-hop; adversarial is left out


def session_document(session: EvalSession) -> str:
    """A session as one document: each turn on its line, as "speaker: text"."""
    return "\n".join(f"{m.get('name') or m['role']}: {m['content']}" for m in session.messages)


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


def evidence_sessions(case: EvalCase, question: EvalQuestion) -> set[str]:
    session_of_key = case.session_of()
    return {session_of_key[key] for key in question.evidence if key in session_of_key}


def scored_questions(case: EvalCase) -> list[EvalQuestion]:
    return [q for q in case.questions if q.scored and evidence_sessions(case, q)]


def pipeline_ranks(case: EvalCase, embedder: MiniLMOnnxEmbedder, folder: Path) -> tuple[list[int], float]:
    """Rank of the first session with evidence among each scored question's hits (99: none), and
    the ingest CPU seconds, with each session added as one message."""
    config = MemoryConfig.build(
        {"store": f"sqlite:///{folder / case.case_id}.db", "retrieval": {"track_access": False}}
    )
    with Memory(config=config, embedder=embedder) as memory:
        start = time.process_time()
        for session in case.sessions:
            message = {"role": "user", "name": "notes", "content": session_document(session)}
            memory.add([message], user_id=case.case_id, session_id=session.session_id, timestamp=session.timestamp)
        memory.wait_for_strata()
        seconds = time.process_time() - start
        session_of_turn = {
            item.id: item.session_id for item in memory.list(user_id=case.case_id, level=Level.TURN, limit=10_000)
        }
        ranks = []
        for question in scored_questions(case):
            wanted = evidence_sessions(case, question)
            ranked: list[str] = []
            for hit in memory.search(question.question, user_id=case.case_id, limit=20):
                for turn in [hit.id] if hit.level == Level.TURN else hit.sources:
                    found = session_of_turn.get(turn)
                    if found is not None and found not in ranked:
                        ranked.append(found)
            ranks.append(min((ranked.index(s) for s in wanted if s in ranked), default=99))
    return ranks, seconds


def print_pipeline(data: Path) -> None:
    cases = locomo_cases(load_locomo(data), SCORED)
    print("\nThrough the default engine (Memory.search, 20 hits read as sessions):")
    print("| long texts | hit@1 | hit@3 | hit@5 | MRR | ingest CPU s |")
    print("|---|---:|---:|---:|---:|---:|")
    for setting in cast(tuple[LongTexts, ...], ("cut", "windows")):
        embedder = MiniLMOnnxEmbedder(long_texts=setting)
        ranks, seconds = [], 0.0
        with tempfile.TemporaryDirectory() as folder:
            for case in cases:
                case_ranks, case_seconds = pipeline_ranks(case, embedder, Path(folder))
                ranks += case_ranks
                seconds += case_seconds
        first = np.array(ranks)
        scores = [100 * float((first < k).mean()) for k in (1, 3, 5)] + [100 * float((1 / (1 + first)).mean())]
        print(f"| {setting} | " + " | ".join(f"{x:.1f}" for x in scores) + f" | {seconds:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pipeline", action="store_true", help="also through the whole default engine")
    args = parser.parse_args()
    embedders = {"cut": MiniLMOnnxEmbedder(long_texts="cut"), "windows": MiniLMOnnxEmbedder(long_texts="windows")}
    rows: dict[str, list[tuple[float, ...]]] = {"cut": [], "windows": [], "best window": []}
    seconds = dict.fromkeys(rows, 0.0)
    pieces: list[int] = []
    for case in locomo_cases(load_locomo(args.data), SCORED):
        numbers = [session.session_id for session in case.sessions]
        texts = [session_document(session) for session in case.sessions]
        pieces += [word_pieces(embedders["cut"], text) for text in texts]
        questions = scored_questions(case)
        asked = embedders["cut"].embed([q.question for q in questions])
        session_vectors: dict[str, list[Vectors]] = {}
        for name in rows:
            start = time.process_time()
            if name == "best window":
                session_vectors[name] = [best_window_vectors(embedders["cut"], text) for text in texts]
            else:
                session_vectors[name] = [vector[None, :] for vector in embedders[name].embed(texts)]
            seconds[name] += time.process_time() - start
        for question, query in zip(questions, asked, strict=True):
            wanted = evidence_sessions(case, question)
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
    if args.pipeline:
        print_pipeline(args.data)


if __name__ == "__main__":
    main()
