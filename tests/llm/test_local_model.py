"""End to end with a REAL local model: Qwen2.5-Coder-0.5B-Instruct (GGUF, sha256-checked) served
by ``python -m llama_cpp.server`` on loopback: LLM fact extraction and episode summaries →
search → a cited answer, with the token ledger in ``stats()``.

Needs the ``local-llm`` extra (CI installs it); skipped with the reason when it is missing, and failed
instead where it is expected (``OUTCROP_REQUIRE_DATA``, set by CI).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from outcrop import Level, Memory, MemoryConfig
from outcrop.llm.local import LOCAL_MODEL, LocalServer, local_llm_available
from outcrop.providers import Embedder
from tests.helpers import missing

MISSING = local_llm_available()
pytestmark = pytest.mark.quality


@pytest.fixture(scope="module", autouse=True)
def _local_model_installed() -> None:  # module scope: before the module's server fixture
    if MISSING is not None:
        missing(f"real local LLM unavailable: {MISSING}")


TURNS = [
    ("Caroline", "I moved to Boston last month and started a new job as a counselor at a youth center."),
    ("Melanie", "That's great! I signed up for a pottery class, the first lesson is next Saturday."),
    ("Caroline", "My cat Oliver loves the new apartment, he sits by the window all day."),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with LocalServer(n_ctx=4096, log=log) as running:
        yield running


def test_extraction_search_and_answer_with_the_real_model(
    server: LocalServer, tmp_path: Path, embedder: Embedder
) -> None:
    config = MemoryConfig(
        store=f"sqlite:///{tmp_path / 'm.db'}",
        strata={"fact_producer": "llm", "episode_producer": "llm", "ner": "rules"},
        llm=server.llm_config(max_tokens=300),
    )
    with Memory(config=config, embedder=embedder) as m:
        m.add(
            [{"role": "user", "name": n, "content": t} for n, t in TURNS],
            user_id="u1",
            session_id="s1",
            timestamp="2023-05-08T13:56:00",
        )
        assert len(m.list(user_id="u1", level=Level.TURN)) == 3  # the raw log is whole
        facts = m.list(user_id="u1", level=Level.FACT, limit=100)
        made = [f for f in facts if f.producer.startswith(f"facts.llm@2:{LOCAL_MODEL}:facts@4")]
        assert made, [(f.producer, f.text) for f in facts]
        assert all(f.sources and f.sources[0].startswith("t_") for f in made)
        episode = m.list(user_id="u1", level=Level.EPISODE)[0]
        assert episode.producer == f"episodes.llm@1:{LOCAL_MODEL}:episode@1", episode.producer
        assert episode.text.startswith("Conversation on") and len(episode.text) > 60

        hits = m.search("Where does Caroline live?", user_id="u1", limit=5)
        assert any("Boston" in h.text for h in hits[:3])

        got = m.answer("Where does Caroline live now?", user_id="u1")
        assert not got.abstained, got
        assert "boston" in got.text.lower(), got.text
        assert got.model and got.prompt == "answer@2" and got.prompt_tokens > 50
        assert set(got.citations) <= {h.id for h in got.context.items}

        usage = m.stats(user_id="u1")["llm"]
        assert usage["model"] == LOCAL_MODEL
        assert usage["by_purpose"]["facts@4"]["calls"] >= 1 and usage["by_purpose"]["answer@2"]["calls"] == 1
        assert usage["prompt_tokens"] > 200 and usage["completion_tokens"] > 10
