"""Relative dates resolved against the turn's own time: a table of cases people actually write."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from outcrop.core.time.expressions import annotate, resolve_dates

MONDAY = datetime(2023, 5, 8, 13, 56)  # a LoCoMo session time: Monday 8 May 2023
SATURDAY = datetime(2023, 7, 15, 10, 0)
NEW_YEAR = datetime(2024, 1, 3, 9, 0)  # Wednesday

D = date
CASES: list[tuple[str, datetime, str, date, date, str]] = [
    ("I went to the support group yesterday.", MONDAY, "yesterday", D(2023, 5, 7), D(2023, 5, 7), "day"),
    ("Last night was wild", MONDAY, "Last night", D(2023, 5, 7), D(2023, 5, 7), "day"),
    ("I signed up today", MONDAY, "today", D(2023, 5, 8), D(2023, 5, 8), "day"),
    ("We're meeting tonight", MONDAY, "tonight", D(2023, 5, 8), D(2023, 5, 8), "day"),
    ("I'll call you tomorrow", MONDAY, "tomorrow", D(2023, 5, 9), D(2023, 5, 9), "day"),
    ("the day before yesterday I ran", MONDAY, "the day before yesterday", D(2023, 5, 6), D(2023, 5, 6), "day"),
    ("the day after tomorrow we fly", MONDAY, "the day after tomorrow", D(2023, 5, 10), D(2023, 5, 10), "day"),
    ("Last Saturday was fun", MONDAY, "Last Saturday", D(2023, 5, 6), D(2023, 5, 6), "day"),
    ("last Monday I started", MONDAY, "last Monday", D(2023, 5, 1), D(2023, 5, 1), "day"),
    ("next Friday is the show", MONDAY, "next Friday", D(2023, 5, 12), D(2023, 5, 12), "day"),
    ("I went to a concert on Friday", MONDAY, "on Friday", D(2023, 5, 5), D(2023, 5, 5), "day"),
    ("I will go to a concert on Friday", MONDAY, "on Friday", D(2023, 5, 12), D(2023, 5, 12), "day"),
    ("this past Sunday we hiked", MONDAY, "this past Sunday", D(2023, 5, 7), D(2023, 5, 7), "day"),
    ("We went camping last weekend", MONDAY, "last weekend", D(2023, 5, 6), D(2023, 5, 7), "weekend"),
    ("this past weekend was great", MONDAY, "this past weekend", D(2023, 5, 6), D(2023, 5, 7), "weekend"),
    ("next weekend we'll see", MONDAY, "next weekend", D(2023, 5, 13), D(2023, 5, 14), "weekend"),
    ("last weekend I painted", SATURDAY, "last weekend", D(2023, 7, 8), D(2023, 7, 9), "weekend"),
    ("the week before was hard", MONDAY, "the week before", D(2023, 5, 1), D(2023, 5, 7), "week"),
    ("last week I got a dog", MONDAY, "last week", D(2023, 5, 1), D(2023, 5, 7), "week"),
    ("next week I start", MONDAY, "next week", D(2023, 5, 15), D(2023, 5, 21), "week"),
    ("two weeks ago I painted a lake", MONDAY, "two weeks ago", D(2023, 4, 24), D(2023, 4, 30), "week"),
    ("3 days ago my cat got sick", MONDAY, "3 days ago", D(2023, 5, 5), D(2023, 5, 5), "day"),
    ("a couple of days ago we met", MONDAY, "a couple of days ago", D(2023, 5, 6), D(2023, 5, 6), "day"),
    ("a few years ago I moved", MONDAY, "a few years ago", D(2020, 1, 1), D(2020, 12, 31), "year"),
    ("five years ago I married", MONDAY, "five years ago", D(2018, 1, 1), D(2018, 12, 31), "year"),
    ("a month ago I quit", MONDAY, "a month ago", D(2023, 4, 1), D(2023, 4, 30), "month"),
    ("in 3 days we leave", MONDAY, "in 3 days", D(2023, 5, 11), D(2023, 5, 11), "day"),
    ("in two weeks I graduate", MONDAY, "in two weeks", D(2023, 5, 22), D(2023, 5, 28), "week"),
    ("next month I will travel", MONDAY, "next month", D(2023, 6, 1), D(2023, 6, 30), "month"),
    ("last month was busy", NEW_YEAR, "last month", D(2023, 12, 1), D(2023, 12, 31), "month"),
    ("this month I read a lot", MONDAY, "this month", D(2023, 5, 1), D(2023, 5, 31), "month"),
    ("last year I ran a marathon", MONDAY, "last year", D(2022, 1, 1), D(2022, 12, 31), "year"),
    ("next year we'll move", MONDAY, "next year", D(2024, 1, 1), D(2024, 12, 31), "year"),
    ("last March I quit smoking", MONDAY, "last March", D(2023, 3, 1), D(2023, 3, 31), "month"),
    ("last August we sailed", MONDAY, "last August", D(2022, 8, 1), D(2022, 8, 31), "month"),
    ("next June I'll graduate", MONDAY, "next June", D(2023, 6, 1), D(2023, 6, 30), "month"),
    ("I moved here in 2016", MONDAY, "in 2016", D(2016, 1, 1), D(2016, 12, 31), "year"),
    ("It was May 7, 2023", MONDAY, "May 7, 2023", D(2023, 5, 7), D(2023, 5, 7), "day"),
    ("we met on 5 June", MONDAY, "5 June", D(2023, 6, 5), D(2023, 6, 5), "day"),
    ("the race is on 2023-09-02", MONDAY, "2023-09-02", D(2023, 9, 2), D(2023, 9, 2), "day"),
    ("See you in December 2024", MONDAY, "in December 2024", D(2024, 12, 1), D(2024, 12, 31), "month"),
    ("I'm staying there until June", MONDAY, "June", D(2023, 6, 1), D(2023, 6, 30), "month"),
    ("I stayed there until April", MONDAY, "April", D(2023, 4, 1), D(2023, 4, 30), "month"),
    ("I stayed there until June", MONDAY, "June", D(2022, 6, 1), D(2022, 6, 30), "month"),
    ("yesterday was the last day of the year", NEW_YEAR, "yesterday", D(2024, 1, 2), D(2024, 1, 2), "day"),
]


@pytest.mark.parametrize(("text", "anchor", "phrase", "start", "end", "granularity"), CASES)
def test_relative_dates_resolve_against_the_turn_time(
    text: str, anchor: datetime, phrase: str, start: date, end: date, granularity: str
) -> None:
    spans = resolve_dates(text, anchor)
    assert [s.phrase for s in spans] == [phrase]
    (span,) = spans
    assert (span.start, span.end, span.granularity) == (start, end, granularity)
    assert text[span.start_char : span.end_char] == phrase


@pytest.mark.parametrize(
    "text",
    [
        "I may go there someday",
        "Can I march in the parade?",
        "Mark my words, it will be fine",
        "I have 2 dogs and 3 cats",
        "We sang in the choir",
        "We rehearse every Tuesday",  # a habit, not a day
        "She went from open strings to an orchestra in six months",  # a duration in the past
    ],
)
def test_words_that_only_look_like_dates_are_left_alone(text: str) -> None:
    assert resolve_dates(text, MONDAY) == []


def test_annotate_appends_absolute_dates_after_relative_phrases_only() -> None:
    text, spans = annotate("Yesterday I booked the trip for May 20, 2023 and we leave next week.", MONDAY)
    assert text == (
        "Yesterday (7 May 2023) I booked the trip for May 20, 2023 and we leave next week (the week of 15 May 2023)."
    )
    assert [s.explicit for s in spans] == [False, True, False]


def test_annotate_can_leave_a_named_month_to_the_readers_date_line() -> None:
    text = "In June I start, last month was hard, and last year too."
    assert annotate(text, MONDAY)[0] == (
        "In June (June 2023) I start, last month (April 2023) was hard, and last year (2022) too."
    )
    assert annotate(text, MONDAY, named_months=False)[0] == (
        "In June I start, last month (April 2023) was hard, and last year (2022) too."
    )
    december = datetime(2023, 12, 12, 10, 0)
    assert annotate("We will fly out in January.", december, named_months=False)[0] == (
        "We will fly out in January (January 2024)."  # not the year of the date line
    )


def test_several_expressions_come_back_in_text_order_without_overlap() -> None:
    spans = resolve_dates("Last year in August, two weeks ago and tomorrow", MONDAY)
    assert [s.phrase for s in spans] == ["Last year", "in August", "two weeks ago", "tomorrow"]


def test_in_n_units_still_resolves_when_it_points_ahead() -> None:
    assert [s.phrase for s in resolve_dates("I'll finish the course in six months", MONDAY)] == ["in six months"]
    assert [s.phrase for s in resolve_dates("See you on Tuesday", MONDAY)] == ["on Tuesday"]
