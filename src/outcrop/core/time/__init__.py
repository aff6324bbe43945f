"""Time in one place: the clock memory reads, timestamps of inputs, date expressions in text and
time windows in questions. Every layer may use it."""

from outcrop.core.time.clock import (
    Clock,
    FixedClock,
    SystemClock,
    format_time,
    now,
    parse_time,
    to_aware_utc,
    to_naive_utc,
    using_clock,
)
from outcrop.core.time.expressions import TimeSpan, annotate, resolve_dates
from outcrop.core.time.windows import TimeWindow, parse_relative_window, parse_window

__all__ = [
    "Clock",
    "FixedClock",
    "SystemClock",
    "TimeSpan",
    "TimeWindow",
    "annotate",
    "format_time",
    "now",
    "parse_relative_window",
    "parse_time",
    "parse_window",
    "resolve_dates",
    "to_aware_utc",
    "to_naive_utc",
    "using_clock",
]
