"""How close `estimate_tokens` comes to a real BPE tokenizer on packed contexts.

    python bench/token_estimate.py [--data ../shared/data/locomo/locomo-dev.json] [--conversation 0]
                                   [--db sqlite:///kept.db] [--budget 1000] [--every 2]

Ingests one LoCoMo conversation (or reuses ``--db``), packs ``Memory.context`` for every
``--every``-th question at ``--budget`` estimated tokens, and counts each context's tokens with
the bundled local model's tokenizer (Qwen2.5, vocabulary only; needs the ``local-llm`` extra).
Prints the real tokens per context and the real/estimate ratio (median, 95th percentile, worst).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from locomo_sample import add_sample_arguments, ingest, load_sample
from rich.console import Console
from rich.table import Table

from outcrop import Memory, MemoryConfig
from outcrop.llm.local import assemble_gguf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sample_arguments(parser)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--every", type=int, default=2)
    args = parser.parse_args()
    from llama_cpp import Llama  # the local-llm extra

    tokenizer = Llama(str(assemble_gguf()), vocab_only=True, verbose=False)
    sample = load_sample(args)
    user = sample.sample_id
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        ingest(url, sample)
        settings = {"store": url, "retrieval": {"track_access": False}}
        with Memory(config=MemoryConfig.build(settings)) as memory:
            real: list[int] = []
            ratio: list[float] = []
            for question in sample.questions[:: args.every]:
                context = memory.context(question.question, user_id=user, max_tokens=args.budget)
                counted = len(tokenizer.tokenize(context.text.encode(), add_bos=False))
                real.append(counted)
                ratio.append(counted / context.tokens)
    table = Table(title=f"{len(real)} contexts of {user} at {args.budget} estimated tokens vs Qwen2.5 BPE")
    for column in ("", "median", "p95", "worst"):
        table.add_column(column, justify="right")
    for name, values in (("real tokens", [float(r) for r in real]), ("real / estimate", ratio)):
        p95 = statistics.quantiles(values, n=20)[-1]
        table.add_row(name, f"{statistics.median(values):.3f}", f"{p95:.3f}", f"{max(values):.3f}")
    Console().print(table)


if __name__ == "__main__":
    main()
