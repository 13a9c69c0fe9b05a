"""The audit trail: one call, `audit`, that every read and write of a patient's record makes.

The client address comes from the request being served (set by the middleware below), so
services need not carry it; a Celery task has none, and records none.
"""

import contextvars

from django.utils import timezone

from courses.models import AuditAction, AuditEvent
from kernel.rate_limit import client_ip

_client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _client_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)


def record_label(record) -> str:
    return record._meta.verbose_name


def audit(*, actor, action: str, patient=None, record=None, record_type: str = "", detail: str = "", at=None):
    """Append one event. `detail` must never carry names, MRNs or clinical free text (the one
    exception is the right-of-access export's stated reason: see reports/record_export.py)."""
    return AuditEvent.objects.create(
        **audit_fields(actor=actor, action=action, detail=detail, at=at),
        patient=patient,
        record_type=record_type or (record_label(record) if record is not None else ""),
        record_id=str(record.pk) if record is not None else "",
    )


def audit_fields(*, actor, action: str, detail: str = "", at=None) -> dict:
    """What `audit` records besides the patient and the record, as field values: for a service that
    writes the events of many records in one set-based INSERT (each record still gets its own event)."""
    return {
        "at": at or timezone.now(),
        "actor": actor if actor is not None and actor.is_authenticated else None,
        "actor_username": getattr(actor, "username", "") or "",
        "action": action,
        "ip_address": _client_ip.get(),
        "detail": detail[:300],
    }


def audit_view(*, actor, patient, record=None, detail: str = ""):
    return audit(actor=actor, action=AuditAction.VIEW, patient=patient, record=record, detail=detail)


def audit_views(*, actor, seen, detail: str = "", at=None) -> int:
    """One view event per (patient, record) pair, in one INSERT: for pages that show a list of
    records that each need their own audit row (alerts on a banner), within a bounded query count."""
    at = at or timezone.now()
    ip = _client_ip.get()
    events = [
        AuditEvent(
            at=at,
            actor=actor if actor is not None and actor.is_authenticated else None,
            actor_username=getattr(actor, "username", "") or "",
            action=AuditAction.VIEW,
            patient=patient,
            record_type=record_label(record),
            record_id=str(record.pk),
            ip_address=ip,
            detail=detail[:300],
        )
        for patient, record in seen
    ]
    return len(AuditEvent.objects.bulk_create(events))
