"""The audit trail: who read or changed what, from where; append-only in the ORM and in PostgreSQL."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.test import RequestFactory

from courses import selectors
from courses.audit import RequestContextMiddleware, audit_view
from courses.models import AuditEvent

pytestmark = pytest.mark.django_db


def _through_middleware(fn, addr="203.0.113.7", **meta):
    request = RequestFactory().get("/", REMOTE_ADDR=addr, **meta)
    return RequestContextMiddleware(lambda req: fn())(request)


def test_an_audited_read_records_actor_patient_and_address(course, therapist):
    _through_middleware(lambda: selectors.course_get(user=therapist, course_id=course.pk))
    event = AuditEvent.objects.filter(action="view").get()
    assert (event.actor, event.patient, event.record_id) == (therapist, course.patient, str(course.pk))
    assert event.ip_address == "203.0.113.7"


def test_the_address_is_forgotten_after_the_request(course, therapist):
    _through_middleware(lambda: None)
    event = audit_view(actor=therapist, patient=course.patient)
    assert event.ip_address is None


def test_forwarded_for_is_trusted_only_when_configured(course, therapist, settings):
    read = lambda: audit_view(actor=therapist, patient=course.patient)  # noqa: E731
    settings.TRUST_X_FORWARDED_FOR = False
    _through_middleware(read, addr="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.4")
    settings.TRUST_X_FORWARDED_FOR = True
    # Only the entry the proxy appended counts: the left ones are whatever the client sent.
    _through_middleware(read, addr="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.66, 198.51.100.4")
    _through_middleware(read, addr="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")
    assert list(AuditEvent.objects.filter(action="view").order_by("id").values_list("ip_address", flat=True)) == [
        "10.0.0.2",
        "198.51.100.4",
        "10.0.0.2",
    ]


def test_an_unaudited_read_writes_nothing(course, therapist):
    selectors.course_get(user=therapist, course_id=course.pk, audit=False)
    assert not AuditEvent.objects.filter(action="view").exists()


def test_the_orm_cannot_change_or_delete_an_event(course, therapist):
    event = audit_view(actor=therapist, patient=course.patient)
    event.detail = "rewritten"
    with pytest.raises(ProtectedError):
        event.save()
    with pytest.raises(ProtectedError):
        event.delete()
    with pytest.raises(ProtectedError):
        AuditEvent.objects.filter(pk=event.pk).update(detail="rewritten")
    with pytest.raises(ProtectedError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).detail == ""


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="The append-only trigger (migration 0002) exists only on PostgreSQL; SQLite relies on the ORM guard.",
)
@pytest.mark.parametrize(
    "sql", ["UPDATE courses_auditevent SET detail = 'rewritten'", "DELETE FROM courses_auditevent"]
)
def test_postgresql_refuses_raw_update_and_delete(course, therapist, sql):
    audit_view(actor=therapist, patient=course.patient)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEvent.objects.filter(detail="").count() == AuditEvent.objects.count() > 0


def test_audit_views_writes_one_row_per_record_in_one_query(course, therapist, django_assert_num_queries):
    from courses.audit import audit_views
    from courses.models import AuditEvent

    before = AuditEvent.objects.count()
    with django_assert_num_queries(1):
        audit_views(actor=therapist, seen=[(course.patient, course), (course.patient, course.patient)], detail="shown")
    rows = list(AuditEvent.objects.order_by("-id")[:2])
    assert AuditEvent.objects.count() == before + 2
    assert {r.record_type for r in rows} == {"course", "patient"}
    assert all(r.action == "view" and r.actor == therapist and r.detail == "shown" for r in rows)
