"""Preparatory and integration sessions (the therapists' notes)."""

from datetime import datetime

from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction

from accounts.models import Role, User
from courses import rules
from courses.choices import IntegrationTechnique, PreparationTopic, SessionFormat
from courses.models import AuditAction, Course, IntegrationSession, PreparatorySession
from courses.services.base import (
    FUTURE_TOLERANCE,
    _check_choices,
    _ensure_course_open,
    _ensure_editable,
    _require_role,
    _save_audited,
)
from kernel import clock
from kernel.validation import fail

MAX_PREPARATORY_SESSIONS = 2


def _check_held_at(held_at: datetime, now: datetime) -> None:
    if held_at > now + FUTURE_TOLERANCE:
        fail("held_at", "A session note is written after the session: the time cannot be in the future.")


@transaction.atomic
def preparatory_session_add(
    *,
    course: Course,
    by: User,
    held_at: datetime,
    note: str,
    topics=(),
    intentions: str = "",
    duration_minutes=60,
    now: datetime | None = None,
) -> PreparatorySession:
    now = clock.now(now)
    _require_role(by, {Role.THERAPIST}, "record a preparatory session")
    course = Course.objects.select_for_update().get(pk=course.pk)
    _ensure_editable(course)
    _ensure_course_open(course)
    _check_held_at(held_at, now)
    if course.preparatory_sessions.active().count() >= MAX_PREPARATORY_SESSIONS:
        fail(
            NON_FIELD_ERRORS,
            f"A course has at most {MAX_PREPARATORY_SESSIONS} preparatory sessions; void one recorded in error first.",
        )
    session = PreparatorySession(
        course=course,
        therapist=by,
        held_at=held_at,
        topics=_check_choices("topics", topics, PreparationTopic),
        intentions=intentions,
        note=note,
        duration_minutes=duration_minutes,
        created_at=now,
        created_by=by,
    )
    _save_audited(session, by=by, action=AuditAction.CREATE, patient=course.patient, now=now)
    return session


@transaction.atomic
def integration_session_add(
    *,
    courses,
    by: User,
    held_at: datetime,
    note: str,
    format: str = SessionFormat.INDIVIDUAL,
    techniques=(),
    duration_minutes=60,
    now: datetime | None = None,
) -> IntegrationSession:
    from courses.selectors import courses_for

    now = clock.now(now)
    _require_role(by, {Role.THERAPIST}, "record an integration session")
    courses = list(courses)
    if format == SessionFormat.INDIVIDUAL and len(courses) != 1:
        fail("courses", f"An individual integration session has one course; {len(courses)} were given.")
    if format == SessionFormat.GROUP and not 2 <= len(courses) <= rules.GROUP_SIZE[1]:
        fail("courses", f"A group integration session has 2–{rules.GROUP_SIZE[1]} courses; {len(courses)} were given.")
    visible = set(courses_for(by).filter(pk__in=[c.pk for c in courses]).values_list("pk", flat=True))
    if len(visible) != len({c.pk for c in courses}):
        fail("courses", "Every course in the session must be on your caseload.")
    for course in courses:
        _ensure_editable(course)
        _ensure_course_open(course)
    _check_held_at(held_at, now)
    session = IntegrationSession(
        format=format,
        therapist=by,
        held_at=held_at,
        techniques=_check_choices("techniques", techniques, IntegrationTechnique),
        note=note,
        duration_minutes=duration_minutes,
        created_at=now,
        created_by=by,
    )
    _save_audited(session, by=by, action=AuditAction.CREATE, patients=[c.patient for c in courses], now=now)
    session.courses.set(courses)
    return session
