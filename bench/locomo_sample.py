"""What the single-conversation benchmarks share: their LoCoMo arguments and the ingest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from outcrop import Memory, MemoryConfig
from outcrop.eval.locomo import LocomoSample, load_locomo

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"


def add_sample_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--conversation", type=int, default=0)
    parser.add_argument("--db", default=None, help="store URL to fill or reuse (default: a temp SQLite file)")


def load_sample(args: argparse.Namespace) -> LocomoSample:
    return load_locomo(args.data)[args.conversation]


def ingest(url: str, sample: LocomoSample, settings: dict[str, Any] | None = None) -> None:
    """Add every session of ``sample`` to the store at ``url`` (known messages are no-ops), with
    ``settings`` (MemoryConfig fields, e.g. ``{"strata": {"pages": true}}``)."""
    with Memory(config=MemoryConfig.build({**(settings or {}), "store": url})) as memory:
        for batch in sample.batches:
            memory.add(batch.messages, user_id=sample.sample_id, session_id=batch.session_id, timestamp=batch.timestamp)
