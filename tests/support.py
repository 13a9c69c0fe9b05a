"""Constants of the test suite itself (the fixtures are in tests/conftest.py, the builders of
synthetic data in devtools/builders.py)."""

import datetime as dt

# Tests run at a fixed instant in the clinic's day: 11:00 in America/New_York (daylight time from 8 March).
NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
