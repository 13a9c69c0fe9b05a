"""The clock: one way to read "now", so a service reads it once and a test can pass its own.

Every write takes `now: datetime | None = None` and starts with `now = clock.now(now)`; the
whole action then uses that one instant. Also the years a record's dates may fall in, which
every date and time field (web, API, services) checks the same way.
"""

from datetime import date, datetime

from django.utils import timezone


def now(at: datetime | None = None) -> datetime:
    """AT when the caller gave one (a test, a replay), else the current time (aware, UTC)."""
    return at or timezone.now()


# Any date the clinic records. A year like 562 is a typing slip, and before 1883 the clinic's zone
# has a local-mean-time offset in seconds (-04:56:02) that RFC 3339 output cannot express.
RECORD_YEARS = (1900, 2099)
RECORD_YEARS_MESSAGE = f"Enter a date between the years {RECORD_YEARS[0]} and {RECORD_YEARS[1]}."


def record_year_errors(values: dict[str, date | None]) -> dict[str, str]:
    """Dates outside the years a clinical record can hold, by field."""
    low, high = RECORD_YEARS
    return {
        name: RECORD_YEARS_MESSAGE
        for name, value in values.items()
        if getattr(value, "year", None) is not None and not low <= value.year <= high
    }
