"""What several resources' views share: the documented error answers, a field's 400, the
`version` a writer read, a record named in the body, and the full answer for a patient, a dosing
session and a dose (also the answer of the generic record endpoints)."""

from django.http import Http404
from django.utils import timezone
from rest_framework import serializers

from courses import bedside, selectors
from courses.api.serializers._common import version_field
from courses.api.serializers.dosing import DoseSerializer, DosingSessionSerializer
from courses.api.serializers.patients import PatientSerializer
from courses.models import Dose
from kernel.api.views import error_responses

ERROR_TEXT = {
    400: "Invalid input or a broken rule; `errors` names each field.",
    401: "Not signed in.",
    403: "Signed in, but this role may not do this (the message says which role may).",
    404: "No such record on your caseload.",
    409: "Conflict: someone saved the record after you read it (your `version` is older), or a concurrent "
    "save won a race. Nothing was changed: read the record again and resend.",
    429: "Too many failed sign-ins: the account is locked for a while.",
    405: "This kind of record is not edited here; the message says where it is.",
}


def api_responses(ok, ok_status: int = 200, errors=(400, 401, 403, 404, 409)) -> dict:
    return error_responses(ok, ERROR_TEXT, ok_status, errors)


READ_ERRORS = (401, 403, 404)
LIST_ERRORS = (400, 401, 403)


def field_error(field: str, message: str):
    raise serializers.ValidationError({field: [message]})


def read_version(data: dict) -> int:
    """The `version` a writer read, required where a write replaces values in place."""
    if "version" not in data:
        field_error(
            "version",
            "Required: send the record's `version` as you read it, so a change saved meanwhile is not overwritten.",
        )
    try:
        return version_field().run_validation(data.pop("version"))
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"version": exc.detail}) from exc


def visible(field: str, getter, **kwargs):
    """A record named in the body, if the caller may see it; otherwise a 400 naming the field."""
    try:
        return getter(audit=False, **kwargs)
    except Http404:
        field_error(field, "No such record on your caseload.")


def patient_out(patient, request):
    return PatientSerializer(patient, context={"visible_courses": selectors.courses_for(request.user)}).data


def session_out(session_id, request, audit: bool = False):
    session = selectors.dosing_session_get(user=request.user, session_id=session_id, audit=audit)
    session = selectors.dosing_session_detail(session.pk)
    amendments = selectors.amendments_for([session])
    states = bedside.dose_states(list(session.doses.all()), now=timezone.now())
    return DosingSessionSerializer(session, context={"amendments": amendments, "states": states}).data


def dose_out(dose_id) -> dict:
    dose = selectors.dose_detail(dose_id)
    records = [dose, *dose.vitals.all(), *dose.adverse_events.all()]
    context = {
        "amendments": selectors.amendments_for(records),
        "states": bedside.dose_states([dose], now=timezone.now()),
    }
    return DoseSerializer(dose, context=context).data


def dose_for(request, dose_id, audit: bool = False) -> Dose:
    return selectors.dose_get(user=request.user, dose_id=dose_id, audit=audit)
