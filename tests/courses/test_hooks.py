"""The one upward hook fails closed: a rule that needs measures refuses instead of passing silently.

courses never imports measures; measures plugs into courses.hooks in MeasuresConfig.ready(). If
that ever stopped happening (the app removed, its ready() broken), the first-dose rule would see
no open baseline questionnaire and the schedule would stop following the course. Both now raise.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured

from courses import hooks
from devtools import builders


def test_measures_is_plugged_in():
    assert hooks.course_changed.has_listeners()
    assert hooks._open_baseline
    for page in hooks.PAGES:
        assert hooks._pages[page], page


def test_no_baseline_provider_refuses(monkeypatch):
    monkeypatch.setattr(hooks, "_open_baseline", [])
    with pytest.raises(ImproperlyConfigured, match="open_baseline"):
        hooks.open_baseline([])


def test_no_schedule_listener_refuses_and_keeps_nothing(monkeypatch, patient, therapist, provider):
    monkeypatch.setattr(hooks.course_changed, "receivers", [])
    monkeypatch.setattr(hooks.course_changed, "sender_receivers_cache", {})
    with pytest.raises(ImproperlyConfigured, match="course_changed"):
        builders.course(patient, by=therapist, medical_provider=provider)
    assert not patient.courses.exists()
