"""Plumbing every app's web views share: access gates, a service's refusal onto its form, paging.

The gates ask the user model's `is_clinic_staff` and `is_practice_lead` (accounts.models.User);
a stale write is any kernel.concurrency.StaleWrite, so no app's services are imported here.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import render

from kernel.concurrency import StaleWrite
from kernel.web.forms import parse_version

PAGE_SIZE = 50


def staff_view(view: Callable) -> Callable:
    """Signed-in clinic staff only; an account without a clinical role gets a 403 that says so."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_clinic_staff:
            raise PermissionDenied(
                "Your account has no clinical role, so there is nothing here for you yet. "
                "Ask the practice lead to assign you a role."
            )
        return view(request, *args, **kwargs)

    return wrapper


def lead_view(view: Callable) -> Callable:
    @staff_view
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_practice_lead:
            raise PermissionDenied("This page is for the practice lead.")
        return view(request, *args, **kwargs)

    return wrapper


def add_service_errors(form, exc: ValidationError) -> None:
    """Put a service's refusal next to the fields it names; anything else goes above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        target = field if field in form.fields and field != NON_FIELD_ERRORS else None
        form.add_error(target, errors)


def call_service(form, service: Callable, **kwargs):
    """Run a service; on refusal attach its messages to the form and return None.

    A form that carries a record's version (courses.web.forms.base.VersionedForm) sends it along, and a
    conflict with a newer save is shown on the form with the user's entries kept."""
    if "version" in form.fields:
        kwargs["version"] = form.read_version()
    try:
        return service(**kwargs)
    except ValidationError as exc:
        add_service_errors(form, exc)
    except StaleWrite as exc:
        form.show_conflict(exc)
    return None


def posted_version(request) -> int:
    """The version a one-button form (sign) was rendered with; see parse_version."""
    return parse_version(request.POST.get("version"))


def render_form_page(request, template: str, context: dict, *, invalid: bool = False):
    """Re-show a refused form with everything typed still there, answered with 400."""
    return render(request, template, context, status=400 if invalid else 200)


def paginate(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
