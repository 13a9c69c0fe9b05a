"""The one way `courses` reaches the apps built on it (measures, reports): a hook they plug into.

`courses` never imports them (pyproject.toml [tool.importlinter]). Where a course event matters to
an app above, or a page or rule of courses must show or weigh something that app keeps, courses
asks this module, and the app plugs its part in once, in its AppConfig.ready() (measures/apps.py).
With nothing plugged in, the hook refuses (ImproperlyConfigured) rather than letting a rule that needs
measures pass silently (tests/courses/test_hooks.py). Three parts:

- `course_changed`, a Django signal the course services send after a write that changes what a
  course's questionnaire schedule hangs on (opening the course, adding or giving a dose, a change
  of stage, stopping the follow-up, amending or voiding a record of the course; see
  `courses.services.base._course_changed`):

      send_course_changed(course=course, now=now)

  Signals are synchronous: a receiver runs inside the sender's transaction, so what it writes
  commits or rolls back with the course record. measures connects the schedule's re-planning.
- `open_baseline(course_ids) -> {course_id: [label, …]}`: which baseline questionnaires of each
  course are still unanswered; the first-dose rule waits for them (bedside.course_states).
- page sections: `page_context(page, **kwargs)` merges the dicts every provider registered for
  `page` returns, e.g. `page_context("course", user=user, course=course)`. The pages and their
  keyword arguments are listed in PAGES; a provider returns the template context keys it fills.
"""

from collections.abc import Callable
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal

# Sent with `course` (a Course) and `now` (the aware datetime the service read its clock at).
course_changed = Signal()


def send_course_changed(*, course, now: datetime) -> None:
    """Send `course_changed`, refusing when nothing follows it: a course service must not write
    what the questionnaire schedule hangs on while the schedule is not listening."""
    if not course_changed.has_listeners():
        raise ImproperlyConfigured(
            "Nothing follows courses.hooks.course_changed, so the questionnaire schedule would not be re-planned: "
            "measures must be installed and connect it from MeasuresConfig.ready()."
        )
    course_changed.send(sender=type(course), course=course, now=now)


# page name -> the keyword arguments its providers are called with
PAGES = {
    "safety_banner": ("user",),  # the caseload, today and lead dashboard pages
    "lead_dashboard": ("user",),
    "course": ("user", "course"),  # the course timeline
    "dose": ("user", "course"),  # a patient's dose within a session
}

_open_baseline: list[Callable] = []
_pages: dict[str, list[Callable]] = {page: [] for page in PAGES}


def register_open_baseline(provider: Callable) -> None:
    """`provider(course_ids)` returns {course_id: [label of an unanswered baseline questionnaire, …]}."""
    if provider not in _open_baseline:
        _open_baseline.append(provider)


def open_baseline(course_ids) -> dict:
    if not _open_baseline:
        # Fail closed: without measures the first dose would pass with the baseline unanswered.
        raise ImproperlyConfigured(
            "Nothing answers courses.hooks.open_baseline, so the first-dose rule cannot see the baseline "
            "questionnaires: measures must be installed and plug in from MeasuresConfig.ready()."
        )
    out: dict = {}
    for provider in _open_baseline:
        for course_id, labels in provider(course_ids).items():
            out.setdefault(course_id, []).extend(labels)
    return out


def register_page(page: str, provider: Callable) -> None:
    """`provider(**kwargs)` (the page's PAGES arguments) returns the context keys it adds to `page`."""
    if page not in PAGES:
        raise ValueError(f"unknown page {page!r}: one of {', '.join(PAGES)}")
    if provider not in _pages[page]:
        _pages[page].append(provider)


def page_context(page: str, **kwargs) -> dict:
    context: dict = {}
    for provider in _pages[page]:
        context.update(provider(**kwargs))
    return context
