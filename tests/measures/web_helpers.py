"""Shared set-up of the measures web tests: open administrations and their self-report links."""

from django.urls import reverse

from measures import services
from measures.models import Administration, AdministrationStatus


def open_administrations(course) -> dict:
    """Run the tick so the course's baseline questionnaires open; instrument code → administration."""
    services.tick()
    rows = Administration.objects.filter(course=course, status=AdministrationStatus.OPEN)
    return {a.instrument: a for a in rows}


def link(administration) -> str:
    administration.refresh_from_db()
    return reverse("self-report", args=[services.self_report_token(administration)])


def answers(count: int, value: int = 1, **overrides) -> dict:
    data = {f"item_{n}": str(value) for n in range(1, count + 1)}
    data.update({k: str(v) for k, v in overrides.items()})
    return data
