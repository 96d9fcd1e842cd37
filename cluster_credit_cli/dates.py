"""Calendar arithmetic for windows and gates (months and years back from the as-of date)."""

from __future__ import annotations

import calendar
import datetime as _dt


def months_before(day: _dt.date, months: int) -> _dt.date:
    """The same day ``months`` earlier; the month's last day when that day does not exist.

    >>> months_before(_dt.date(2024, 5, 31), 3)
    datetime.date(2024, 2, 29)
    """
    total = day.year * 12 + (day.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    return _dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def years_before(day: _dt.date, years: int) -> _dt.date:
    return months_before(day, 12 * years)
