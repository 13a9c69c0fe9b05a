"""The measure_tick command: loads a synthetic practice into an empty database and times the tick."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def test_it_times_two_ticks_over_synthetic_courses(db):
    out = StringIO()
    call_command("measure_tick", courses=100, stdout=out)
    text = out.getvalue()
    assert "loaded 100 courses, 940 administrations" in text
    assert "first tick (with work)" in text and "'opened': 4, 'invitations': 4, 'reminders': 4" in text
    assert "second tick (nothing due)" in text and "'opened': 0" in text


def test_it_refuses_a_database_with_courses(course):
    with pytest.raises(CommandError, match="empty database"):
        call_command("measure_tick", courses=10, stdout=StringIO())
