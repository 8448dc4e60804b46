"""`render.format_date` prints what the former one (time.gmtime and format specs) printed."""

from __future__ import annotations

import time

from hypothesis import example, given, settings
from hypothesis import strategies as st

from vcrdt.cli.render import format_date
from vcrdt.objects import MAX_TIMESTAMP, MAX_TZ_MINUTES

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def reference(timestamp: int, tz_minutes: int) -> str:
    """The former format_date: time.gmtime of the shifted timestamp."""
    t = time.gmtime(timestamp + tz_minutes * 60)
    sign = "-" if tz_minutes < 0 else "+"
    m = abs(tz_minutes)
    return (
        f"{DAYS[t.tm_wday]} {MONTHS[t.tm_mon - 1]} {t.tm_mday} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
        f" {t.tm_year} {sign}{m // 60:02d}{m % 60:02d}"
    )


@settings(max_examples=2000, deadline=None)
@given(
    st.one_of(
        st.integers(0, MAX_TIMESTAMP),
        st.integers(0, 2**32),  # the dates commits have
        st.integers(0, 4000).map(lambda year: year * 31_556_952),  # around the turn of each year
        st.sampled_from([0, 59, 86_399, 86_400, 951_782_400, 951_868_800, 4_107_542_400, 253_402_300_799]),
    ),
    st.integers(-MAX_TZ_MINUTES, MAX_TZ_MINUTES),
    st.integers(-2, 2),
)
@example(0, -MAX_TZ_MINUTES, 0)  # before the epoch
@example(MAX_TIMESTAMP, MAX_TZ_MINUTES, 0)
@example(951_782_400, 0, 86_400)  # 2000-02-29, a leap day in a century year
@example(4_107_456_000, 0, 86_400)  # 2100-03-01: 2100 is not a leap year
def test_format_date_matches_gmtime(timestamp: int, tz_minutes: int, nudge: int) -> None:
    t = max(0, timestamp + nudge)
    assert format_date(t, tz_minutes) == reference(t, tz_minutes)


def test_every_day_of_four_centuries() -> None:
    for day in range(0, 146_097 + 800, 1):
        t = day * 86_400 + 43_210
        assert format_date(t, -60) == reference(t, -60)


def test_dates_sharing_a_day_and_offset() -> None:
    """The text around the time of day is kept per day and offset: later dates that day print the same."""
    for tz in (-90, 0, 330, 840):
        for t in range(951_782_400 - 86_400, 951_782_400 + 2 * 86_400, 997):
            assert format_date(t, tz) == reference(t, tz)


def test_dates_past_the_kept_days() -> None:
    """More days than are kept (the table is cleared when full): each date still prints as before."""
    for day in range(5000):
        t = day * 86_400 + 3_600
        assert format_date(t, 60) == reference(t, 60)
        assert format_date(t + 1, 60) == reference(t + 1, 60)
