"""Multi-hop retrieval by bridge entities: first hop → the names its hits carry → second hop."""

from __future__ import annotations

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Level, Scope
from outcrop.providers import Embedder
from outcrop.retrieve.channels import ChannelRequest
from outcrop.retrieve.hops import HopChannel, bridge_names
from outcrop.retrieve.query import analyse_query
from outcrop.stores.base import SearchFilters
from tests.helpers import say

QUESTION = "What did the adopted puppy damage?"


def _story(memory: Memory) -> str:
    say(memory, "I adopted a puppy and named her Biscuit.", "s1", 1)
    say(memory, "Work was busy today, lots of meetings.", "s2", 5)
    answer = say(memory, "Biscuit chewed through the garden hose this morning.", "s3", 9)
    say(memory, "I repainted the fence on Sunday.", "s4", 12)
    return answer


def _carries(memory: Memory, hits: list[str], turn: str) -> bool:
    items = memory.store.records.get_items(Scope(user_id="u1"), hits)
    return any(i == turn or turn in item.sources for i, item in items.items())


def test_bridge_names_skip_sentence_starts_but_keep_names() -> None:
    from outcrop.core.types import Item

    item = Item(id="t", level=Level.TURN, scope=Scope(user_id="u1"), text="Sure! I took Biscuit to see Dr Mills.")
    assert bridge_names(item, []) == ["Biscuit", "Dr", "Mills"]


def test_the_answer_is_found_through_the_bridge_entity_and_not_without_the_hop(db_url: str, embedder: Embedder) -> None:
    """Pseudo-relevance feedback off: its terms from the first hit ("biscuit") would reach the answer too."""
    config = MemoryConfig.build({"store": db_url, "retrieval": {"prf_weight": 0.0}})
    with Memory(config=config, embedder=embedder) as memory:
        _bridge(memory)


def _bridge(memory: Memory) -> None:
    answer = _story(memory)
    with_hop = memory.search(QUESTION, user_id="u1", limit=10, channels={"bm25": 1.0, "hops": 1.0})
    without = memory.search(QUESTION, user_id="u1", limit=10, channels={"bm25": 1.0})
    assert _carries(memory, [h.id for h in with_hop], answer)
    assert not _carries(memory, [h.id for h in without], answer)  # no word in common with the question
    reached = next(h for h in with_hop if _carries(memory, [h.id], answer))
    assert reached.explain["channels"]["hops"]["rank"] >= 1


def test_the_hop_abstains_without_a_first_hop_or_under_filters(memory: Memory) -> None:
    _story(memory)
    request = ChannelRequest(scope=Scope(user_id="u1"), query=analyse_query(QUESTION, ["Ann"]), filters=None, k=20)
    hop = HopChannel(memory.store)
    assert hop.search(request, []) == []
    first = memory.store.lexical.search(request.scope, {"puppy": 1.0}, 5, None)
    assert hop.search(request, first)
    narrowed = ChannelRequest(request.scope, request.query, SearchFilters(levels=(Level.TURN,)), 20)
    assert hop.search(narrowed, first) == []


def test_related_objects_are_the_named_objects_said_in_the_source() -> None:
    from outcrop.core.types import Item
    from outcrop.retrieve.hops import related_objects

    entries = [
        {"object": "Pixie", "kind": "dog", "sources": ["t1"], "facts": ["f1"]},
        {"object": "Panda", "kind": "dog", "sources": ["t2"], "facts": ["f2"]},
        {"object": "a dog", "kind": "dog", "sources": ["t1"], "facts": ["f3"]},  # no name
    ]
    view = Item(
        id="v", level=Level.TOPIC, scope=Scope(user_id="u1"), text="Audrey — owns: dog: Pixie, Panda",
        metadata={"kind": "relation", "entries": entries}, sources=["t1", "t2"],
    )  # fmt: skip
    assert related_objects(view, "t1") == ["Pixie"]
    turn = Item(id="t1", level=Level.TURN, scope=Scope(user_id="u1"), text="we adopted another puppy!")
    assert bridge_names(turn, [view]) == ["Pixie"]  # the turn names none: the view's relation does


class _Counting:
    """A store whose reads are counted (the hop's cost)."""

    def __init__(self, store: object) -> None:
        self._store = store
        self.calls: list[tuple[str, int]] = []
        outer = self

        class _Proxy:
            def __init__(self, inner: object, kind: str) -> None:
                self._inner, self._kind = inner, kind

            def __getattr__(self, name: str) -> object:
                method = getattr(self._inner, name)

                def counted(*args: object, **kwargs: object) -> object:
                    sized = next((len(a) for a in args if isinstance(a, (list, dict))), 0)
                    outer.calls.append((f"{self._kind}.{name}", sized))
                    return method(*args, **kwargs)

                return counted

        self.records = _Proxy(store.records, "records")  # type: ignore[attr-defined]
        self.lexical = _Proxy(store.lexical, "lexical")  # type: ignore[attr-defined]


def test_the_hop_costs_three_reads_and_one_search_of_at_most_bridges_names(db_url: str, embedder: Embedder) -> None:
    config = MemoryConfig.build({"store": db_url, "strata": {"relations": True, "entity_pages": True}})
    with Memory(config=config, embedder=embedder) as memory:
        _story(memory)
        for day in range(14, 20):  # more names than the hop may follow
            say(memory, f"I met Zed{day} and Kay{day} at the Lido{day} club.", f"x{day}", day)
        request = ChannelRequest(Scope(user_id="u1"), analyse_query("Who did I meet at the club?", ["Ann"]), None, 50)
        first = memory.store.lexical.search(request.scope, {"met": 1.0, "club": 1.0}, 20, None)
        counting = _Counting(memory.store)
        HopChannel(counting, seeds=5, bridges=2).search(request, first)  # type: ignore[arg-type]
    reads = [c for c in counting.calls if c[0].startswith("records.")]
    searches = [c for c in counting.calls if c[0] == "lexical.search"]
    assert len(reads) <= 4  # the seeds, what was derived from them, those items, the speakers
    assert len(searches) == 1 and searches[0][1] <= 2 * 2  # at most two names of at most two words
    assert all(size <= 50 for _, size in reads)
