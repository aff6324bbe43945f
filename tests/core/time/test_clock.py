from datetime import UTC, datetime

import pytest

from outcrop.core.time.clock import parse_time
from outcrop.errors import InvalidInputError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-05-08T13:56:00", datetime(2023, 5, 8, 13, 56)),
        ("2023-05-08", datetime(2023, 5, 8)),
        ("2023-05-08T13:56:00Z", datetime(2023, 5, 8, 13, 56)),
        ("2023-05-08T15:56:00+02:00", datetime(2023, 5, 8, 13, 56)),
        ("1:56 pm on 8 May, 2023", datetime(2023, 5, 8, 13, 56)),
        ("12:09 am on 13 September, 2023", datetime(2023, 9, 13, 0, 9)),
        ("10:37 am on 27 June, 2023", datetime(2023, 6, 27, 10, 37)),
        ("2023/05/20 (Sat) 02:21", datetime(2023, 5, 20, 2, 21)),
        (datetime(2023, 1, 1, 12, tzinfo=UTC), datetime(2023, 1, 1, 12)),
        (0, datetime(1970, 1, 1)),
    ],
)
def test_parse_time_accepts_common_formats(raw: object, expected: datetime) -> None:
    assert parse_time(raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["yesterday-ish", "13:99 pm on 40 May, 2023", "", True, [2023]])
def test_parse_time_refuses_to_guess(raw: object) -> None:
    with pytest.raises(InvalidInputError):
        parse_time(raw)  # type: ignore[arg-type]


def test_remembered_times_stay_inside_the_years_memory_can_reason_about() -> None:
    from outcrop.core.time.clock import memory_time

    assert memory_time("9998-12-31T23:00:00") == datetime(9998, 12, 31, 23)
    for edge in ("9999-12-31T23:00:00", "0001-01-01", "9999-01-01"):
        with pytest.raises(InvalidInputError, match="outside the years 2-9998"):
            memory_time(edge)
    for bad in (1e20, -1e20, float("nan")):
        with pytest.raises(InvalidInputError, match="out of range"):
            parse_time(bad)


def test_date_arithmetic_past_the_calendar_ends_resolves_nothing_instead_of_failing() -> None:
    from datetime import date

    from outcrop.core.time import parse_relative_window, resolve_dates

    assert resolve_dates("That was 999 years ago.", date(500, 1, 1)) == []
    assert resolve_dates("See you tomorrow, and next year too!", date(9999, 12, 31)) == []
    assert [s.label for s in resolve_dates("See you tomorrow!", date(9998, 12, 31))] == ["1 January 9999"]
    assert parse_relative_window("what do we do next winter?", date(9998, 12, 31)) is None
    assert parse_relative_window("what did we do last summer?", date(2, 1, 1)) is None
