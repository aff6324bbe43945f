"""Time and truth: bi-temporal fact times, current truth per slot, timelines (DESIGN.md §1, §3)."""
