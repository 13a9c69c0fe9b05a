"""Serializer pieces shared by several resources: input derived from the model, free text, the
`version` a writer read, the record and signature fields of an answer (with its amendments), and
the blockers courses.safety lists."""

from datetime import datetime
from operator import attrgetter

from django.core.exceptions import ObjectDoesNotExist
from django.db import models as dj_models
from django.db.models.query_utils import DeferredAttribute
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import Field, SkipField, is_simple_callable
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import ISO_8601, api_settings

from courses.models import Amendment
from kernel.api.serializers import ClinicDateTimeField, StaffBriefSerializer
from kernel.text import TEXT_MAX


def text_field(**kwargs):
    kwargs.setdefault("max_length", TEXT_MAX)
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_blank", True)
    return serializers.CharField(**kwargs)


class ModelInput(serializers.ModelSerializer):
    """Model-derived limits without model-level uniqueness checks: the service decides those."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        dj_models.TextField: serializers.CharField,
        dj_models.DateTimeField: ClinicDateTimeField,
    }

    def build_standard_field(self, field_name, model_field):
        # Text limits come with the model's max_length (models.free_text); the rest is the service's.
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        kwargs.pop("validators", None)
        return field_class, kwargs

    def get_validators(self):
        return []


# --- answers of long lists, without DRF's per-field machinery ---------------------------------


def _plain_getter(field, model=None):
    """How to read FIELD's value off an instance (of MODEL, if the serializer names one): a plain
    attribute read where DRF's own Field.get_attribute would do only that, else DRF's own
    (defaults, SkipField, dotted sources). A column of MODEL (a value, never a callable nor a
    missing related row) is read as the attribute alone."""
    attrs = field.source_attrs
    if type(field).get_attribute is not Field.get_attribute or len(attrs) != 1 or field.source == "*":
        return field.get_attribute
    (attr,) = attrs
    if model is not None and isinstance(getattr(model, attr, None), DeferredAttribute):
        read = attrgetter(attr)

        def get_column(instance):
            try:
                return read(instance)
            except AttributeError:
                return field.get_attribute(instance)  # not a row of MODEL (a dict): DRF's own

        return get_column

    def get(instance):
        try:
            value = getattr(instance, attr)
        except ObjectDoesNotExist:
            return None
        except (KeyError, AttributeError):
            return field.get_attribute(instance)  # its default, null or SkipField, as DRF answers
        # What fields.get_attribute does with a method source (e.g. "__str__"): call it.
        if callable(value) and is_simple_callable(value):
            value = value()
        return value

    if not isinstance(field, serializers.ListSerializer):
        return get

    def get_many(instance):
        # A prefetched relation's rows, as its manager's all() would hand them over, without
        # building the manager for every row.
        prefetched = getattr(instance, "_prefetched_objects_cache", None)
        if prefetched is not None and attr in prefetched:
            return prefetched[attr]
        return get(instance)

    return get_many


# Fields whose to_representation reads nothing but the value and module settings (no context,
# no request, no parent serializer): a plan of these alone is the same for every instance of its
# serializer class, so it is kept on the class.
_CONTEXT_FREE = (
    serializers.BooleanField,
    serializers.CharField,
    serializers.ChoiceField,
    serializers.DateField,
    serializers.DateTimeField,
    serializers.DecimalField,
    serializers.DictField,
    serializers.FloatField,
    serializers.IntegerField,
    serializers.JSONField,
    serializers.ListField,
    serializers.ManyRelatedField,
    serializers.PrimaryKeyRelatedField,
    serializers.UUIDField,
)


def _plain_converter(field, *, top: bool) -> tuple[str, object, bool]:
    """FIELD's step of a plan: (kind, what, context_free). A nested serializer (one or many) is
    read through its own plan; a nested model row (a staff member, a patient) is turned into its
    answer once per serializer and kept by its pk (a page of courses names the same few staff
    members dozens of times). A method field of the serializer itself is called on whichever
    instance applies the plan, as SerializerMethodField calls its parent's method."""
    if isinstance(field, serializers.ListSerializer):
        kind, what, free = _plain_converter(field.child, top=False)
        return "many", (kind, what), free
    if isinstance(field, serializers.BaseSerializer):
        model = getattr(getattr(field, "Meta", None), "model", None)
        plan, free = _plain_plan(field, top=False)
        return ("row" if model is not None else "nested"), (type(field), plan), free
    if top and type(field) is serializers.SerializerMethodField:
        return "method", field.method_name, True
    context_free = isinstance(field, _CONTEXT_FREE)
    method = type(field).to_representation
    if method is serializers.DateTimeField.to_representation:
        return "datetime", field, context_free
    # What these fields' own to_representation does, called directly.
    if method is serializers.CharField.to_representation:
        return "field", str, context_free
    if method is serializers.IntegerField.to_representation:
        return "field", int, context_free
    if method is serializers.UUIDField.to_representation and field.uuid_format == "hex_verbose":
        return "field", str, context_free
    if method is serializers.BooleanField.to_representation and _bools_are_themselves(field):
        return "field", _bool_out(field), context_free
    if method is serializers.ChoiceField.to_representation:
        return "field", _choice_out(field), context_free
    if isinstance(field, serializers.RelatedField):
        # Its get_attribute may hand over a PKOnlyObject, whose pk decides null.
        return "related", field.to_representation, context_free
    return "field", field.to_representation, context_free


def _bools_are_themselves(field) -> bool:
    return True in field.TRUE_VALUES and False not in field.TRUE_VALUES and False in field.FALSE_VALUES


def _bool_out(field):
    """BooleanField.to_representation, which answers a bool as itself (see _bools_are_themselves)."""
    own = field.to_representation

    def out(value):
        return value if value.__class__ is bool else own(value)

    return out


def _choice_out(field):
    """ChoiceField.to_representation, which looks a non-empty plain string up as itself."""
    own = field.to_representation

    def out(value):
        if value.__class__ is str and value:
            return field.choice_strings_to_values.get(value, value)
        return own(value)

    return out


_UNSET = object()


def _datetime_zone(field):
    """The zone FIELD's own to_representation turns an aware date-time into before writing it in
    ISO 8601, or None where it does anything else (another format, naive output, a subclass's own
    enforce_timezone): then the field's own answers."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if not isinstance(output_format, str) or output_format.lower() != ISO_8601:
        return None
    if type(field).enforce_timezone not in (
        serializers.DateTimeField.enforce_timezone,
        # Its own steps are for naive values only; an aware one is DRF's.
        ClinicDateTimeField.enforce_timezone,
    ):
        return None
    return field.timezone if hasattr(field, "timezone") else field.default_timezone()


def _datetime_out(field, value, memo: dict):
    """DateTimeField.to_representation of an aware date-time (every one a database row holds), with
    the zone looked up once per serializer instead of per value (it is a context-local read)."""
    if value.__class__ is datetime and value.utcoffset() is not None:
        zone = memo.get(field, _UNSET)
        if zone is _UNSET:
            zone = memo[field] = _datetime_zone(field)
        if zone is not None:
            try:
                text = value.astimezone(zone).isoformat()
            except OverflowError:
                return field.to_representation(value)  # its own error
            return text[:-6] + "Z" if text.endswith("+00:00") else text
    return field.to_representation(value)


def _plain_plan(serializer, *, top: bool = True) -> tuple[list, bool]:
    """The steps (name, getter, kind, what) of SERIALIZER's answer, and whether they hold for every
    instance of its class."""
    plan, free = [], True
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    for field in serializer._readable_fields:
        kind, what, field_free = _plain_converter(field, top=top)
        plan.append((field.field_name, _plain_getter(field, model), kind, what))
        free = free and field_free
    return plan, free


def _plain_one(kind, what, value, memo: dict):
    if kind == "field":
        return what(value)
    if kind == "datetime":
        return _datetime_out(what, value, memo)
    if kind == "related":
        return None if isinstance(value, PKOnlyObject) and value.pk is None else what(value)
    if kind == "many":
        rows = value.all() if isinstance(value, dj_models.manager.BaseManager) else value
        return [_plain_one(*what, row, memo) for row in rows]
    key, plan = what
    if kind == "nested":
        return _plain_apply(plan, value, memo)
    rows = memo.get(key)
    if rows is None:
        rows = memo[key] = {}
    out = rows.get(value.pk)
    if out is None:
        out = rows[value.pk] = _plain_apply(plan, value, memo)
    return out


def _plain_apply(plan, instance, memo: dict, owner=None) -> dict:
    out = {}
    for name, get, kind, what in plan:
        try:
            value = get(instance)
        except SkipField:
            continue
        if value is None:
            out[name] = None
        elif kind == "field":
            out[name] = what(value)
        elif kind == "datetime":
            out[name] = _datetime_out(what, value, memo)
        elif kind == "related":
            out[name] = None if isinstance(value, PKOnlyObject) and value.pk is None else what(value)
        elif kind == "method":
            out[name] = getattr(owner, what)(value)
        else:
            out[name] = _plain_one(kind, what, value, memo)
    return out


_PLANS: dict[type, list] = {}


# For a read-only answer serializer shown many times over (a list page, a timeline): the same
# answer as Serializer.to_representation, field for field, with each field's own
# to_representation, but the plan of which field reads what is made once per serializer class
# (or per serializer, when a field depends on its context) instead of per row and field, and a
# nested model row (a staff member, a patient) is turned into its answer once per serializer. The
# class's fields stay as declared, so the OpenAPI schema is the same. (A comment, not a docstring:
# drf-spectacular would print a docstring as the description of every serializer that has none of
# its own.) tests/courses/test_api_plain_answers.py holds the answers to DRF's own.
class PlainOut:
    def to_representation(self, instance):
        state = self.__dict__.get("_plain")
        if state is None:
            plan = _PLANS.get(type(self))
            if plan is None:
                plan, free = _plain_plan(self)
                if free:
                    _PLANS[type(self)] = plan
            state = self._plain = (plan, {})
        plan, memo = state
        return _plain_apply(plan, instance, memo, self)


def many_out(parent, serializer_class, rows, *, context: dict | None = None) -> list:
    """What serializer_class(rows, many=True, context=context).data answers, from one serializer of
    that class per parent serializer (a nested list in a method field of a timeline's rows built
    and bound every field of a new serializer for every row)."""
    children = parent.__dict__.setdefault("_many_out", {})
    child = children.get(serializer_class)
    if child is None:
        child = children[serializer_class] = serializer_class(context=context or {})
    rows = rows.all() if isinstance(rows, dj_models.manager.BaseManager) else rows
    return [child.to_representation(row) for row in rows]


class AmendmentSerializer(PlainOut, serializers.ModelSerializer):
    amended_by = StaffBriefSerializer(read_only=True)
    changes = serializers.JSONField(help_text='Each changed field: {"from": old, "to": new}.')

    class Meta:
        model = Amendment
        fields = ["id", "record_type", "record_id", "changes", "reason", "amended_at", "amended_by"]


RECORD_META = ["version", "created_at", "created_by", "is_voided", "voided_at", "voided_by", "void_reason"]


def version_field(required: bool = True):
    """The version the client read: a write over a newer one is a 409, not a silent overwrite."""
    return serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=required,
        help_text="The record's `version` as you last read it. If someone saved it since, the answer is 409 "
        "and nothing is changed: read the record again and resend.",
    )


SIGNED_META = ["signed_at", "signed_by", "is_signed"]


class RecordOut(PlainOut, serializers.ModelSerializer):
    """Who made a record, its voiding, and (when the view supplies them) its amendments."""

    is_voided = serializers.BooleanField(read_only=True)
    amendments = serializers.SerializerMethodField()

    @extend_schema_field(AmendmentSerializer(many=True))
    def get_amendments(self, obj):
        by_record = self.context.get("amendments")
        if by_record is None:
            return []
        return many_out(self, AmendmentSerializer, by_record.get(obj.pk, ()))


class SignedOut(RecordOut):
    is_signed = serializers.BooleanField(read_only=True)
    signed_by = StaffBriefSerializer(read_only=True, allow_null=True)


class BlockerSerializer(serializers.Serializer):
    """One thing still needed before an act (courses.safety): the same list the pages show and the
    service refuses with."""

    code = serializers.CharField()
    field = serializers.CharField()
    message = serializers.CharField()
    exceptionable = serializers.BooleanField(
        help_text="A medical provider may go ahead by documenting why (a discharge exception)."
    )


def blockers_out(blockers) -> list[dict]:
    return [
        {"code": b.code, "field": b.field, "message": b.message, "exceptionable": b.exceptionable} for b in blockers
    ]
