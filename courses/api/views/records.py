"""Any record of care by its kind's slug: read, edit before signing, sign, amend, void, amendments."""

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models as dj_models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.response import Response

from courses import kinds, selectors, services
from courses.api.serializers._common import AmendmentSerializer, version_field
from courses.api.serializers.adverse_events import AdverseEventSerializer
from courses.api.serializers.courses import CourseSerializer
from courses.api.serializers.dosing import DoseSerializer, DosingSessionSerializer, VitalReadingSerializer
from courses.api.serializers.evaluations import MedicalEvaluationSerializer, PsychiatricEvaluationSerializer
from courses.api.serializers.patients import PatientSerializer
from courses.api.serializers.records import (
    RECORD_LIST_FIELDS,
    AmendInputSerializer,
    SignInputSerializer,
    VoidInputSerializer,
)
from courses.api.serializers.sessions import IntegrationSessionSerializer, PreparatorySessionSerializer
from courses.api.views._common import (
    READ_ERRORS,
    api_responses,
    dose_out,
    field_error,
    patient_out,
    read_version,
    session_out,
)
from kernel.api.errors import flatten_errors
from kernel.api.serializers import ClinicDateTimeField
from kernel.api.views import ApiView, read_body

RECORD_TYPE_PARAMETER = OpenApiParameter("record_type", OpenApiTypes.STR, OpenApiParameter.PATH, enum=kinds.slugs())
# PATCH edits a record of care before it is signed, under the services' rules and `version` check.
# It is not offered (405, and left out of the schema's `record_type` for PATCH) where no edit could
# pass: a patient and a course change through their own endpoints, and a vital reading is always
# corrected by an amendment with a reason (each kind's `edited_elsewhere` says where).
PATCHABLE_RECORD_TYPES = [kind.slug for kind in kinds.KINDS if not kind.edited_elsewhere]
# The body: `version` (required) beside the fields to change, named as in the record.
RECORD_CHANGES = inline_serializer("RecordChanges", {"version": version_field()})
# Each record kind's own serializer, by the kind's slug (tests/courses/test_kinds.py: one for every kind).
RECORD_SERIALIZERS = {
    "patient": PatientSerializer,
    "course": CourseSerializer,
    "medical-evaluation": MedicalEvaluationSerializer,
    "psychiatric-evaluation": PsychiatricEvaluationSerializer,
    "preparatory-session": PreparatorySessionSerializer,
    "integration-session": IntegrationSessionSerializer,
    "dosing-session": DosingSessionSerializer,
    "dose": DoseSerializer,
    "vital-reading": VitalReadingSerializer,
    "adverse-event": AdverseEventSerializer,
}


# Kinds shown as their own endpoint shows them (with their bedside state, counts or courses),
# by slug; every other kind is its serializer over the record reloaded with its amendments.
RECORD_OUTPUTS = {
    "dose": lambda record, request: dose_out(record.pk),
    "dosing-session": lambda record, request: session_out(record.pk, request),
    "patient": patient_out,
}


def _record_out(record, request) -> dict:
    own = RECORD_OUTPUTS.get(kinds.of(record).slug)
    if own is not None:
        return own(record, request)
    record = selectors.record_reload(record)
    serializer_class = RECORD_SERIALIZERS[kinds.of(record).slug]
    return serializer_class(record, context={"amendments": selectors.amendments_for([record])}).data


def _record(request, record_type, record_id, audit: bool = False):
    return selectors.record_get(user=request.user, record_type=record_type, record_id=record_id, audit=audit)


def _typed_changes(model, changes: dict) -> dict:
    """JSON values → the model field's Python type; a value that will not convert is a 400 naming it."""
    typed, errors = {}, {}
    for name, value in changes.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is None or not field.concrete:
            # Unknown, or a relation such as a patient's `courses` (which has no to_python: it was a
            # 500): the service refuses it, naming what may be changed.
            typed[name] = value
            continue
        try:
            if name in RECORD_LIST_FIELDS and isinstance(field, dj_models.JSONField):
                # The same capped, de-duplicated choice list as on entry: a bare 3 was a 500 in the service.
                typed[name] = RECORD_LIST_FIELDS[name]().run_validation(value)
            elif isinstance(field, dj_models.DateTimeField) and value is not None:
                # Timezone-aware, in the clinic's zone when the client sent a naive time.
                typed[name] = ClinicDateTimeField().to_internal_value(value)
            elif isinstance(field, dj_models.JSONField | dj_models.ForeignKey | dj_models.ManyToManyField):
                typed[name] = value
            elif isinstance(value, dict | list):
                raise DjangoValidationError(f"{field.verbose_name} cannot be a list or an object.")
            elif value is None and not field.null:
                # Said here: a NOT NULL column refusing it at save was a 409 "the record changed".
                text = isinstance(field, dj_models.CharField | dj_models.TextField)
                raise DjangoValidationError(
                    "This field may not be null." + (" Send an empty string to clear it." if text else "")
                )
            elif isinstance(field, dj_models.DateField) and not isinstance(value, str | None):
                # to_python of a number or a boolean was a TypeError (500), not a message.
                raise DjangoValidationError(f"{field.verbose_name} must be a date as text, YYYY-MM-DD.")
            else:
                typed[name] = field.to_python(value)
        except (DjangoValidationError, serializers.ValidationError) as exc:
            messages = (
                exc.messages if isinstance(exc, DjangoValidationError) else flatten_errors({name: exc.detail})[name]
            )
            errors[name] = messages
    if errors:
        raise serializers.ValidationError(errors)
    return typed


def _changes_body(request) -> dict:
    if not isinstance(request.data, dict) or not request.data:
        field_error("non_field_errors", "Send a JSON object of the fields to change.")
    return dict(request.data)


class RecordDetailView(ApiView):
    @extend_schema(
        parameters=[RECORD_TYPE_PARAMETER],
        responses=api_responses(OpenApiTypes.OBJECT, errors=READ_ERRORS),
        tags=["records"],
        description="Any record by type; the shape is that type's own serializer.",
    )
    def get(self, request, record_type, record_id):
        if record_type == "dosing-session":
            # A group session belongs to several patients: its own getter audits one row per patient.
            return Response(session_out(record_id, request, audit=True))
        return Response(_record_out(_record(request, record_type, record_id, audit=True), request))

    @extend_schema(
        parameters=[
            OpenApiParameter("record_type", OpenApiTypes.STR, OpenApiParameter.PATH, enum=PATCHABLE_RECORD_TYPES)
        ],
        request=RECORD_CHANGES,
        responses=api_responses(OpenApiTypes.OBJECT, errors=(400, 401, 403, 404, 405, 409)),
        tags=["records"],
        description="Edit a record that is not yet signed: a JSON object of field → new value, with the "
        "record's `version` (required). A signed record is locked (400): amend it instead. Not for a patient, "
        "a course or a vital reading (405, saying where they change).",
    )
    def patch(self, request, record_type, record_id):
        kind = kinds.by_slug(record_type)
        if kind is not None and kind.edited_elsewhere:
            self.headers["Allow"] = "GET, HEAD, OPTIONS"
            raise MethodNotAllowed("PATCH", detail=f"PATCH is not offered for a {record_type}. {kind.edited_elsewhere}")
        record = _record(request, record_type, record_id)
        body = _changes_body(request)
        version = read_version(body)
        changes = _typed_changes(type(record), body)
        if kinds.of(record).update is not None:
            # A kind with its own update (a dose) takes flags of its own endpoint too (`weighed_now`):
            # refused here, before the service, so that the generic edit offers the kind's fields only.
            wrong = sorted(set(changes) - set(kinds.of(record).editable))
            if wrong:
                field_error("non_field_errors", f"These fields cannot be edited: {', '.join(wrong)}.")
        record = services.record_update(record=record, by=request.user, version=version, changes=changes)
        return Response(_record_out(record, request))


class RecordSignView(ApiView):
    serializer_class = SignInputSerializer

    @extend_schema(
        parameters=[RECORD_TYPE_PARAMETER],
        request=SignInputSerializer,
        responses=api_responses(OpenApiTypes.OBJECT),
        tags=["records"],
        description="Sign and lock. Send the `version` you reviewed: a signature attests to what the signer saw, "
        "so a record changed since is a 409.",
    )
    def post(self, request, record_type, record_id):
        record = _record(request, record_type, record_id)
        data = read_body(SignInputSerializer, request) if request.data else {}
        record = services.record_sign(record=record, by=request.user, version=data.get("version"))
        return Response(_record_out(record, request))


class RecordAmendView(ApiView):
    serializer_class = AmendInputSerializer

    @extend_schema(
        parameters=[RECORD_TYPE_PARAMETER],
        request=AmendInputSerializer,
        responses=api_responses(AmendmentSerializer, 201),
        tags=["records"],
    )
    def post(self, request, record_type, record_id):
        record = _record(request, record_type, record_id)
        data = read_body(AmendInputSerializer, request)
        changes = _typed_changes(type(record), data["changes"])
        amendment = services.record_amend(
            record=record, by=request.user, changes=changes, reason=data["reason"], version=data.get("version")
        )
        return Response(AmendmentSerializer(amendment).data, status=status.HTTP_201_CREATED)


class RecordVoidView(ApiView):
    serializer_class = VoidInputSerializer

    @extend_schema(
        parameters=[RECORD_TYPE_PARAMETER],
        request=VoidInputSerializer,
        responses=api_responses(OpenApiTypes.OBJECT),
        tags=["records"],
    )
    def post(self, request, record_type, record_id):
        record = _record(request, record_type, record_id)
        record = services.record_void(record=record, by=request.user, **read_body(VoidInputSerializer, request))
        return Response(_record_out(record, request))


class RecordAmendmentsView(ApiView):
    pagination_class = None
    serializer_class = AmendmentSerializer

    @extend_schema(
        parameters=[RECORD_TYPE_PARAMETER],
        responses=api_responses(AmendmentSerializer(many=True), errors=READ_ERRORS),
        tags=["records"],
    )
    def get(self, request, record_type, record_id):
        record = _record(request, record_type, record_id, audit=True)
        # The kind's former model names too: amendments written before a rename keep theirs.
        return Response(AmendmentSerializer(selectors.record_amendments(record), many=True).data)
