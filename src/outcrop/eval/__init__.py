"""Evaluation on public long-term-memory benchmarks, through the public API only."""
