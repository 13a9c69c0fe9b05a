"""What accounts needs from the course record above it, plugged in at start-up: accounts never imports courses.

accounts holds the staff identity every app builds on (User, Role, sign-in lockout, API tokens,
the second factor, invitations and resets), so it sits below courses (pyproject.toml
[tool.importlinter]). Two things it uses belong to courses: the clinic's audit trail (courses.audit,
over the AuditEvent table) and the clinic's name that its mails carry (ClinicSettings).
CoursesConfig.ready() (courses/apps.py) plugs them in. Until it has, calling either raises: an
account change is never left unaudited in silence.
"""

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

_audit: Callable | None = None
_clinic_name: Callable[[], str] | None = None


def provide(*, audit: Callable, clinic_name: Callable[[], str]) -> None:
    global _audit, _clinic_name
    _audit, _clinic_name = audit, clinic_name


def audit(**kwargs) -> None:
    """courses.audit.audit(actor=…, action=…, record=…, record_type=…, detail=…, at=…)."""
    if _audit is None:
        raise ImproperlyConfigured("accounts.ports: the audit trail is not plugged in (CoursesConfig.ready)")
    _audit(**kwargs)


def clinic_name() -> str:
    if _clinic_name is None:
        raise ImproperlyConfigured("accounts.ports: the clinic's name is not plugged in (CoursesConfig.ready)")
    return _clinic_name()
