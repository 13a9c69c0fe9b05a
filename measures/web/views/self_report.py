"""The patient's self-report page behind a signed link: no login, phone first, one step.

The token is in the URL, so every answer here carries `Referrer-Policy: no-referrer` and
`Cache-Control: no-store`, and the page title names no patient.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from courses.audit import audit
from courses.models import AuditAction
from kernel.rate_limit import minutes
from kernel.web.views import add_service_errors
from measures import rate_limit, services
from measures.instruments import INSTRUMENTS, PHQ9_SAFETY_ITEM, Instrument
from measures.web.forms import QuestionnaireForm

PROBLEM_STATUS = {"invalid": 404, "expired": 410, "used": 410, "closed": 410}


def _private(response):
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _problem(request, kind: str):
    return _private(
        render(request, "measures/self_report_problem.html", {"kind": kind}, status=PROBLEM_STATUS.get(kind, 404))
    )


def _too_many(request, wait: int):
    context = {"minutes": minutes(wait)}
    response = _private(render(request, "measures/self_report_rate_limited.html", context, status=429))
    response["Retry-After"] = str(wait)
    return response


# No CSRF check: the authority here is the signed token in the URL, not a cookie, so a forged
# cross-site post could do nothing its sender could not do with the link itself. And with
# `no-referrer` the browser posts `Origin: null`, which Django's CSRF check always refuses.
@csrf_exempt
def self_report(request, token: str):
    # Counted before the token is read: a flood of made-up tokens never reaches the link's lookup or
    # the audit trail; a refusal costs one query, for the clinic's name on the page.
    wait = rate_limit.check(request, token)
    if wait is not None:
        return _too_many(request, wait)
    try:
        administration = services.self_report_resolve(token=token)
    except services.LinkProblem as problem:
        return _problem(request, problem.kind)
    definition = INSTRUMENTS[administration.instrument]
    # Bound on every POST, even an empty one: a patient who sends the page with nothing ticked
    # posts no fields at all (no CSRF token here), and must be told which questions need answers.
    data = request.POST if request.method == "POST" else None
    form = QuestionnaireForm(data, definition=definition, require_all=True)
    if request.method == "POST" and form.is_valid():
        try:
            response = services.response_submit_self_report(token=token, answers=form.answers())
        except services.LinkProblem as problem:
            return _problem(request, problem.kind)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            crisis = response.instrument == Instrument.PHQ9 and bool(response.safety_item_value)
            context = {"first_name": administration.course.patient.given_name, "crisis": crisis}
            return _private(render(request, "measures/self_report_thanks.html", context))
    audit(
        actor=None,
        action=AuditAction.VIEW,
        patient=administration.course.patient,
        record=administration,
        detail="self-report link opened",
    )
    context = {
        "form": form,
        "definition": definition,
        "first_name": administration.course.patient.given_name,
        "safety_item": PHQ9_SAFETY_ITEM if administration.instrument == Instrument.PHQ9 else None,
    }
    return _private(
        render(request, "measures/self_report.html", context, status=400 if request.method == "POST" else 200)
    )
