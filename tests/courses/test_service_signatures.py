"""The services' parameters (issue 14): named and typed, never `**fields`.

A service that creates a record spells out its fields: the list must stay the one in
`courses.kinds` (the forms and serializers list the same), and each default the model's own, so a
field added to one and not the other fails here instead of being silently dropped or refused.
A service that changes some fields takes them as `changes` (see courses/services/__init__.py)."""

import inspect
from datetime import datetime

import pytest

from courses import kinds, services
from courses.models import AdverseEvent, Dose, MedicalEvaluation, Patient, PsychiatricEvaluation
from measures import services as measure_services
from reports import services as report_services

# service, model, its fields (in order), the parameters that are not fields, and the fields whose
# default None means something the service decides (said in its docstring).
CREATES = [
    (services.patient_register, Patient, kinds.PATIENT_FIELDS, {"by", "weight_kg", "now"}, set()),
    (
        services.medical_evaluation_add,
        MedicalEvaluation,
        kinds.MEDICAL_EVALUATION_FIELDS,
        {"course", "by", "now"},
        set(),
    ),
    (
        services.psychiatric_evaluation_add,
        PsychiatricEvaluation,
        kinds.of(PsychiatricEvaluation).editable,
        {"course", "by", "now"},
        {"indication"},
    ),
    (
        services.dose_add,
        Dose,
        (*kinds.DOSE_FIELDS, "is_maintenance"),
        {"session", "course", "by", "weighed_now", "now"},
        {"weight_kg", "is_maintenance"},
    ),
    (
        services.adverse_event_add,
        AdverseEvent,
        kinds.AE_FIELDS,
        {"dose", "course", "by", "now"},
        {"onset_at", "serious_criteria"},
    ),
]

UPDATES = [
    services.patient_update,
    services.dose_update,
    services.record_update,
    services.record_amend,
    services.clinic_settings_update,
    measure_services.measure_settings_update,
    report_services.outcome_settings_update,
]


@pytest.mark.parametrize("service, model, fields, others, decided", CREATES, ids=lambda v: getattr(v, "__name__", ""))
def test_a_create_service_takes_its_kinds_fields_with_the_models_defaults(service, model, fields, others, decided):
    parameters = inspect.signature(service).parameters
    assert [n for n in parameters if n not in others] == list(fields)
    for name in fields:
        parameter = parameters[name]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        assert parameter.annotation is not inspect.Parameter.empty, name
        expected = None if name in decided else model._meta.get_field(name).get_default()
        assert parameter.default == expected, name


def test_the_screen_items_are_the_medical_evaluations_parameters():
    parameters = inspect.signature(services.medical_evaluation_add).parameters
    from courses import rules

    for item in (*rules.ABSOLUTE_ITEMS, *rules.CAUTION_ITEMS, rules.CHILDBEARING_FIELD):
        assert parameters[item].default == "" and parameters[item].annotation is str


@pytest.mark.parametrize("service", UPDATES, ids=lambda s: s.__name__)
def test_an_update_service_takes_its_changes_as_one_mapping(service):
    parameters = inspect.signature(service).parameters
    assert parameters["changes"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["changes"].default is inspect.Parameter.empty


@pytest.mark.parametrize("package", [services, measure_services, report_services], ids=lambda p: p.__name__)
def test_no_public_service_takes_loose_keywords_and_now_is_typed(package):
    for name in getattr(package, "__all__", dir(package)):
        function = getattr(package, name)
        if not inspect.isfunction(function) or name.startswith("_"):
            continue
        parameters = inspect.signature(function, eval_str=True).parameters
        assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()), name
        if "now" in parameters:
            assert parameters["now"].annotation in (datetime | None, datetime), name
