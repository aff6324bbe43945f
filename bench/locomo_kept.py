"""The stores an `outcrop eval locomo --keep-stores` run kept, opened with this checkout's code and
the eval's own provenance (any level's hit counts for the turns it derives from): what
`locomo_rescore.py` and `locomo_misses.py` read."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locomo_sample import DEFAULT_DATA

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Hit, Level
from outcrop.eval import runner
from outcrop.eval.cases import EvalCase
from outcrop.eval.locomo import load_locomo, locomo_cases


def add_kept_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stores", type=Path, required=True, help="OUT/stores of a --keep-stores run")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--conversations", default="all", help="case numbers, e.g. 0,1 (default: every kept store)")
    parser.add_argument("--config", default="{}", help="MemoryConfig fields as JSON, merged per section")


@dataclass
class KeptCase:
    """One conversation's kept store, open, with the eval's replay of it."""

    memory: Memory
    case: EvalCase
    replay: Any  # runner._Replay

    def keys(self, hit: Hit) -> list[str]:
        """The evidence keys (dia_ids) of the turns ``hit`` derives from."""
        return list(self.replay.provenance.of_hit(hit))


def kept_cases(args: argparse.Namespace) -> Iterator[KeptCase]:
    """Each kept store named by ``args``, open with ``args.config`` merged over the defaults (asking
    does not change the memory, as in the eval)."""
    cases = locomo_cases(load_locomo(args.data), (1, 2, 3, 4))
    if args.conversations == "all":
        numbers = sorted(int(path.stem.removeprefix("case-")) for path in args.stores.glob("case-*.db"))
    else:
        numbers = [int(n) for n in args.conversations.split(",")]
    missing = [n for n in numbers if not (args.stores / f"case-{n:05d}.db").exists() or n >= len(cases)]
    if missing or not numbers:
        raise SystemExit(f"no kept store for conversation(s) {missing or 'any'} in {args.stores} (for {args.data})")
    settings = MemoryConfig().model_dump()
    for section, values in json.loads(args.config).items():
        if isinstance(values, dict):
            settings.setdefault(section, {}).update(values)
        else:
            settings[section] = values
    settings["retrieval"]["track_access"] = False
    embedder = None
    for number in numbers:
        case = cases[number]
        config = MemoryConfig.build({**settings, "store": f"sqlite:///{args.stores / f'case-{number:05d}.db'}"})
        with Memory(config=config, embedder=embedder) as memory:
            embedder = memory.embedder
            keys_of: dict[str, list[str]] = {}
            for turn in memory.list(user_id=case.case_id, level=Level.TURN, limit=10_000):
                key = turn.metadata.get("dia_id")
                if key is not None:
                    keys_of[turn.id] = [str(key)]
                    for source in turn.sources:
                        keys_of.setdefault(source, [str(key)])
            replay = runner._Replay(runner._Provenance(memory, case.case_id, keys_of), case.session_of())
            yield KeptCase(memory, case, replay)
