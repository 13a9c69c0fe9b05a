"""The audit trail: one call, `audit`, that every read and write of a patient's record makes.

The client address comes from the request being served (set by the middleware below), so
services need not carry it; a Celery task has none, and records none.
"""

import contextvars
import ipaddress

from django.conf import settings
from django.utils import timezone

from courses.models import AuditAction, AuditEvent

_client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


def client_ip(request) -> str | None:
    """The address the clinic's own proxy saw, not one the client claims.

    Behind the production proxy the peer is the proxy, so its header is trusted only when told
    to, and then only its last entry: the proxy appends the peer it saw, and entries to the left
    came from the client itself. Anything that is not an address falls back to the peer."""
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        entries = [e.strip() for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]
        if entries:
            try:
                return str(ipaddress.ip_address(entries[-1]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR") or None


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
    exception is the right-of-access export's stated reason: see courses/record_export.py)."""
    return AuditEvent.objects.create(
        at=at or timezone.now(),
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_username=getattr(actor, "username", "") or "",
        action=action,
        patient=patient,
        record_type=record_type or (record_label(record) if record is not None else ""),
        record_id=str(record.pk) if record is not None else "",
        ip_address=_client_ip.get(),
        detail=detail[:300],
    )


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
