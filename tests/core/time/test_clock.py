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
