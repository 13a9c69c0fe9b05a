"""Any record by its kind (courses/kinds.py): the kind's caseload scope, "get one or 404"
(audited for each patient it belongs to), its patients, and its amendments."""

from django.db.models import QuerySet
from django.http import Http404

from courses import kinds
from courses.audit import audit_view
from courses.models import Amendment, Patient
from courses.selectors.caseload import _get_or_404, courses_for, doses_for, dosing_sessions_for, patients_for


def record_type_name(record) -> str:
    return kinds.of(record).slug


def record_patient(record) -> Patient | None:
    """The patient a record belongs to; None for a group session (it belongs to several)."""
    return kinds.record_patient(record) if kinds.is_kind(record) else None


def record_patients(record) -> list[Patient]:
    """Every patient a record belongs to: several for a group session."""
    return kinds.record_patients(record) if kinds.is_kind(record) else []


def caseload_for(user) -> kinds.Caseload:
    return kinds.Caseload(
        user=user,
        patients=patients_for(user),
        courses=courses_for(user),
        dosing_sessions=dosing_sessions_for(user),
        doses=doses_for(user),
    )


def record_get(*, user, record_type: str, record_id, audit: bool = True):
    """Any record by its kind's slug, within the user's caseload, or 404."""
    kind = kinds.by_slug(record_type)
    if kind is None:
        raise Http404("No such record type.")
    record = _get_or_404(kind.scope(caseload_for(user)), record_id)
    if audit:
        for patient in record_patients(record):
            audit_view(actor=user, patient=patient, record=record)
    return record


def amendments_for(records) -> dict:
    """Amendments keyed by record id, in one query, for showing beside the originals."""
    ids = [r.pk for r in records]
    by_record: dict = {}
    for amendment in Amendment.objects.filter(record_id__in=ids).select_related("amended_by"):
        by_record.setdefault(amendment.record_id, []).append(amendment)
    return by_record


def record_amendments(record) -> QuerySet[Amendment]:
    """The amendments of one record, with who made them. The kind's former model names count
    too: amendments written before a rename keep theirs."""
    return Amendment.objects.filter(record_type__in=kinds.of(record).model_names, record_id=record.pk).select_related(
        "amended_by"
    )


def record_reload(record):
    """The record as it is now in the database (after a service changed it), by its own model."""
    return type(record).objects.get(pk=record.pk)
