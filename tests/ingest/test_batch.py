"""The batch path: a file's sessions are embedded together in large batches, only what is not held
yet, and written as the add-by-add path writes them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Level, Scope, Vectors
from outcrop.ingest.batch import PendingAdd, chunks, prefetch, split_long, turn_text
from outcrop.ingest.messages import normalize_messages
from outcrop.providers import Embedder
from tests.helpers import STORY


class Counting:
    """The real embedder, recording the size of each call."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.id, self.dim, self.batch_size = inner, inner.id, inner.dim, inner.batch_size
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(len(texts))
        return self.inner.embed(texts)


def _write_story(path: Path, repeat: int = 1) -> int:
    lines = [
        {"session_id": f"{session}-{r}", "timestamp": when, "name": name, "content": f"{text} ({r})"}
        for r in range(repeat)
        for session, when, turns in STORY
        for name, text in turns
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return len(lines)


def _pending(scope: Scope, count: int) -> PendingAdd:
    messages = [{"name": "Ann", "content": f"message {i}"} for i in range(count)]
    return PendingAdd(scope, normalize_messages(messages, timestamp=None, max_chars=1000))


def test_chunks_and_split_long_bound_each_write_and_keep_order() -> None:
    scope = Scope(tenant="t", user_id="u", session_id="s")
    adds = [_pending(scope, 3), _pending(scope, 2500), _pending(scope, 1)]
    split = list(split_long(adds, most=1000))
    assert [len(a.turns) for a in split] == [3, 1000, 1000, 500, 1]
    assert [t.content for a in split for t in a.turns] == [t.content for a in adds for t in a.turns]
    runs = list(chunks(split, messages=1000))
    assert [[len(a.turns) for a in run] for run in runs] == [[3, 1000], [1000], [500, 1]]


def test_a_file_is_embedded_in_large_batches_and_written_as_adds_write_it(embedder: Embedder, tmp_path: Path) -> None:
    conversation = tmp_path / "story.jsonl"
    messages = _write_story(conversation, repeat=4)
    counting = Counting(embedder)
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'batch.db'}", strata={"on_add": False})
    with Memory(config=config, embedder=counting) as batch:
        report = batch.ingest(conversation, user_id="u1")
        assert (report.messages, report.added, report.batches) == (messages, messages, 4 * len(STORY))
        assert counting.calls == [messages]  # one call for every turn of the file (below a chunk)
        again = batch.ingest(conversation, user_id="u1")
        assert again.added == 0 and again.already_present == messages
        assert counting.calls == [messages]  # nothing held is embedded again
        turns = batch.list(user_id="u1", limit=1000)
        vectors = batch.store.vectors.vectors_for(
            Scope(tenant="default", user_id="u1"), batch.engine.space, [t.id for t in turns]
        )
        hits = batch.search("Where did Caroline move?", user_id="u1", limit=3)
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'adds.db'}", strata={"on_add": False})
    with Memory(config=config, embedder=embedder) as one_by_one:
        for line in conversation.read_text().splitlines():
            row = json.loads(line)
            one_by_one.add(
                [{"name": row["name"], "content": row["content"]}],
                user_id="u1",
                session_id=row["session_id"],
                timestamp=row["timestamp"],
            )
        reference = one_by_one.list(user_id="u1", limit=1000)
        expected = [h.text for h in one_by_one.search("Where did Caroline move?", user_id="u1", limit=3)]
    assert [(t.text, t.session_id, t.speaker, t.timestamp) for t in turns] == [
        (t.text, t.session_id, t.speaker, t.timestamp) for t in reference
    ]
    for turn in turns:  # the vector of the batch is the text's own
        alone = embedder.embed(
            [
                turn_text(
                    turn.scope,
                    normalize_messages([{"name": turn.speaker, "content": turn.text}], timestamp=None, max_chars=1000)[
                        0
                    ],
                )
            ]
        )[0]
        assert float(np.dot(vectors[turn.id], alone)) > 0.999
    assert [h.text for h in hits] == expected


def test_prefetch_embeds_only_new_texts(memory: Memory) -> None:
    scope = Scope(tenant="default", user_id="u1", session_id="s1")
    first = _pending(scope, 5)
    memory.engine.add(first.scope, first.turns, {})
    memo: dict[str, np.ndarray] = {}
    both = [first, _pending(Scope(tenant="default", user_id="u1", session_id="s2"), 7)]
    assert prefetch(memory.store, memory.embedder, both, memo) == 7  # s2's texts are new (other scope)
    assert prefetch(memory.store, memory.embedder, both, memo) == 0  # all in the memo now
    assert all(memory.store.records.list_items(scope, levels=(Level.TURN,), limit=10))
