"""Reports API serializers: the report filters (input), and the practice report and export jobs (output).

The practice report is turned into plain data once (`practice_report_data`) and described by
the output serializers below, so the schema says exactly what the JSON holds.
"""

from django.urls import reverse
from rest_framework import serializers

from accounts.models import Role, User
from courses.api.serializers import SettingsSerializer, StaffField
from courses.choices import Indication, RaceEthnicity, Route, SessionFormat, Sex
from measures.instruments import INSTRUMENTS
from reports import services
from reports.aggregate import suppressed
from reports.cohort import AGE_BANDS, EARLIEST_START, LATEST_START, NOT_RECORDED, ReportFilters
from reports.models import Audience, ExportKind, OutcomeSettings
from reports.outcomes import FOLLOW_UP_LABELS, FOLLOW_UPS

AGE_BAND_CHOICES = [label for *_range, label in AGE_BANDS] + ["under 18"]
RACE_FILTER_VALUES = (*RaceEthnicity.values, NOT_RECORDED)

# --- input ------------------------------------------------------------------------------------


def within_start_range(value):
    if not EARLIEST_START <= value <= LATEST_START:
        raise serializers.ValidationError(
            f"Give a day from {EARLIEST_START.isoformat()} to {LATEST_START.isoformat()}."
        )


class ReportFilterSerializer(serializers.Serializer):
    """Which courses the report counts. Every field is optional; none means every course."""

    start_from = serializers.DateField(
        required=False,
        help_text="Courses started on or after this day (YYYY-MM-DD, 1900-01-01 to 2100-12-31).",
        validators=[within_start_range],
    )
    start_to = serializers.DateField(
        required=False,
        help_text="Courses started on or before this day (YYYY-MM-DD, 1900-01-01 to 2100-12-31).",
        validators=[within_start_range],
    )
    indication = serializers.ChoiceField(choices=Indication.choices, required=False)
    route = serializers.ChoiceField(choices=Route.choices, required=False, help_text="Route of the first dose.")
    format = serializers.ChoiceField(choices=SessionFormat.choices, required=False)
    therapist = StaffField(
        queryset=User.objects.filter(role=Role.THERAPIST), required=False, help_text="A therapist on the care team."
    )
    sex = serializers.ChoiceField(choices=Sex.choices, required=False)
    # A plain string, not a second race/ethnicity enum beside the patient's: the two would only
    # collide in the schema. The values are checked in validate_race_ethnicity.
    race_ethnicity = serializers.CharField(
        required=False, help_text=f"One of: {', '.join(RACE_FILTER_VALUES)} (never asked)."
    )
    age_band = serializers.ChoiceField(
        choices=AGE_BAND_CHOICES, required=False, help_text="Age at course start; an ASCII hyphen is accepted too."
    )

    def to_internal_value(self, data):
        if hasattr(data, "get") and isinstance(data.get("age_band"), str):
            data = {k: data.get(k) for k in data}  # a QueryDict is immutable
            data["age_band"] = data["age_band"].replace("-", "–")
        return super().to_internal_value(data)

    def validate_race_ethnicity(self, value):
        if value not in RACE_FILTER_VALUES:
            raise serializers.ValidationError(f'"{value}" is not a valid choice.')
        return value

    def validate(self, attrs):
        if attrs.get("start_from") and attrs.get("start_to") and attrs["start_from"] > attrs["start_to"]:
            raise serializers.ValidationError({"start_to": ["The end of the date range comes before its start."]})
        return attrs


def report_filters(validated: dict) -> ReportFilters:
    values = dict(validated)
    therapist = values.pop("therapist", None)
    return ReportFilters(therapist_id=therapist.pk if therapist else None, **values)


def filters_out(filters: ReportFilters) -> dict:
    """The filters in force, under the names the query string uses."""
    data = filters.as_dict()
    if "therapist_id" in data:
        data["therapist"] = data.pop("therapist_id")
    return data


class ExportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExportKind.choices)
    audience = serializers.ChoiceField(
        choices=Audience.choices,
        required=False,
        help_text="Who the practice file is for. `inside`: exact figures and dates, for the clinic's own "
        "use. `outside` (the default): de-identified to HIPAA Safe Harbor (days since the first dose "
        "instead of dates, years instead of months, no free text) with every count under the "
        "small-cell threshold hidden. A `patient_pdf` is `inside` only.",
    )
    filters = ReportFilterSerializer(required=False, help_text="For the practice report and CSV; ignored otherwise.")
    course = serializers.UUIDField(required=False, help_text="The course of a patient progress report.")


class OutcomeSettingsSerializer(SettingsSerializer):
    class Meta:
        model = OutcomeSettings
        fields = [*services.OUTCOME_SETTINGS_FIELDS, "updated_at", "updated_by"]
        read_only_fields = ["updated_at", "updated_by"]

    def to_internal_value(self, data):
        # A client still sending a timing definition here would otherwise be ignored without a word.
        if isinstance(data, dict) and (moved := services.moved_to_schedule(data)):
            raise serializers.ValidationError({k: [v] for k, v in moved.items()})
        return super().to_internal_value(data)


# --- the practice report, out -----------------------------------------------------------------


class RateSerializer(serializers.Serializer):
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    pct = serializers.FloatField(allow_null=True, help_text="Percent; null when the denominator is 0.")
    ci_low = serializers.FloatField(allow_null=True, help_text="95% Wilson interval, percent.")
    ci_high = serializers.FloatField(allow_null=True)
    suppressed = serializers.BooleanField(
        help_text="True when this cell falls under the small-cell rule: anything that leaves the clinic must hide it."
    )


class MeanSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    sd = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True, help_text="95% t interval for the mean.")
    ci_high = serializers.FloatField(allow_null=True)


class DurabilitySerializer(serializers.Serializer):
    all_itt = RateSerializer(help_text="Sustained among all eligible courses due, missing = not responding.")
    all_oc = RateSerializer(help_text="Sustained among eligible courses with the end and follow-up scores.")
    responders_itt = RateSerializer(help_text="Sustained among end-of-course responders due.")
    responders_oc = RateSerializer(help_text="Sustained among end-of-course responders with the follow-up score.")


class ByMaintenanceSerializer(serializers.Serializer):
    with_maintenance = DurabilitySerializer()
    without_maintenance = DurabilitySerializer()


def _per_follow_up(child, **kwargs):
    fields = {name: child(**kwargs) for name in FOLLOW_UPS}
    return type(f"{child.__name__.removesuffix('Serializer')}ByFollowUpSerializer", (serializers.Serializer,), fields)


DurabilityByFollowUp = _per_follow_up(DurabilitySerializer)
MaintenanceByFollowUp = _per_follow_up(ByMaintenanceSerializer)
RateByFollowUp = _per_follow_up(RateSerializer)


class CompletionSerializer(serializers.Serializer):
    end = RateSerializer()
    month_1 = RateSerializer()
    month_3 = RateSerializer()
    month_6 = RateSerializer()


class MeansByTimepointSerializer(serializers.Serializer):
    baseline = MeanSerializer()
    end = MeanSerializer()
    month_1 = MeanSerializer()
    month_3 = MeanSerializer()
    month_6 = MeanSerializer()


class KMStepSerializer(serializers.Serializer):
    time = serializers.IntegerField(help_text="Days from the end of the acute course.")
    at_risk = serializers.IntegerField()
    events = serializers.IntegerField(help_text="Losses of response at this time.")
    censored = serializers.IntegerField()
    survival = serializers.FloatField(help_text="Share still responding, 0 to 1.")


class LoincSerializer(serializers.Serializer):
    panel = serializers.CharField(help_text="LOINC panel code of the questionnaire.")
    total = serializers.CharField(help_text="LOINC code of the total score (the figures' measure).")
    items = serializers.DictField(
        child=serializers.CharField(), help_text="Item number → LOINC code, where LOINC has one (DOMAIN §5)."
    )


class InstrumentSummarySerializer(serializers.Serializer):
    instrument = serializers.CharField()
    loinc = LoincSerializer()
    n_with_baseline = serializers.IntegerField()
    n_baseline_waived = serializers.IntegerField(
        help_text="Courses whose baseline a clinician waived (with a reason): no baseline, so no response figures."
    )
    n_eligible = serializers.IntegerField(help_text="Baseline at or above the cut-off.")
    baseline = MeanSerializer()
    end = MeanSerializer()
    means = MeansByTimepointSerializer()
    response_itt = RateSerializer()
    response_oc = RateSerializer()
    partial_oc = RateSerializer()
    partial_itt = RateSerializer()
    remission_itt = RateSerializer()
    remission_oc = RateSerializer()
    meaningful_change_oc = RateSerializer(allow_null=True, help_text="PCL-5 only: a drop of at least N points.")
    meaningful_change_itt = RateSerializer(allow_null=True, help_text="PCL-5 only, intention-to-treat.")
    completion = CompletionSerializer(help_text="Scores present / courses due, per timepoint.")
    durability = DurabilityByFollowUp()
    durability_by_maintenance = MaintenanceByFollowUp()
    still_responding = RateByFollowUp(
        help_text="Sustained response among end-of-course responders with that follow-up scored (observed cases)."
    )
    still_responding_itt = RateByFollowUp(
        help_text="Sustained response among every end-of-course responder whose window has closed (ITT)."
    )
    km = KMStepSerializer(
        many=True,
        help_text="Time to loss of response among end responders, Kaplan–Meier: responders only, observed cases, "
        "censored at the first maintenance dose. Its ITT twin is still_responding_itt.",
    )


class InstrumentsSerializer(serializers.Serializer):
    phq9 = InstrumentSummarySerializer()
    gad7 = InstrumentSummarySerializer()
    pcl5 = InstrumentSummarySerializer()


class EquityRowSerializer(serializers.Serializer):
    instrument = serializers.CharField()
    dimension = serializers.CharField(help_text="race_ethnicity, sex, age_band, indication, route or format.")
    group = serializers.CharField()
    label = serializers.CharField()
    n_courses = serializers.IntegerField()
    n_eligible = serializers.IntegerField()
    response = RateSerializer()
    remission = RateSerializer()
    sustained_6 = RateSerializer(help_text="Sustained at 6 months, intention-to-treat, all eligible.")
    sustained_6_oc = RateSerializer(help_text="Sustained at 6 months, observed cases (end and +6-month scores).")


class StalledCourseSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The course's de-identified report key.")
    last_dose = serializers.DateField()
    days_without_dose = serializers.IntegerField()
    doses_given = serializers.IntegerField()
    planned = serializers.IntegerField()


class CourseFlowSerializer(serializers.Serializer):
    never_dosed = serializers.IntegerField(help_text="No dose given yet: no baseline by definition, in no figure.")
    running = serializers.IntegerField(help_text="Still in the dosing series: enter ITT when their windows close.")
    series_complete = serializers.IntegerField()
    discontinued = serializers.IntegerField(help_text="Discontinued after a dose: end on their last dose given.")
    stalled = serializers.IntegerField(help_text="No dose for more than stall_after_days, not closed: in ITT.")
    discontinued_with_follow_up = serializers.IntegerField(
        help_text="Discontinued courses with any score after their last dose."
    )
    discontinued_follow_up_stopped = serializers.IntegerField(
        help_text="Discontinued courses whose follow-up questionnaires staff stopped."
    )
    stall_after_days = serializers.IntegerField()
    stalled_courses = StalledCourseSerializer(many=True)


class CountSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()
    per_100 = serializers.FloatField(allow_null=True, help_text="Per 100 dosing sessions.")


class SeriousEventSerializer(serializers.Serializer):
    onset = serializers.DateTimeField()
    term = serializers.CharField()
    grade = serializers.IntegerField()
    criteria = serializers.ListField(child=serializers.CharField())
    outcome = serializers.CharField()
    action = serializers.CharField()
    acknowledged = serializers.BooleanField()


class AlertCountsSerializer(serializers.Serializer):
    high_bp = serializers.IntegerField()
    high_hr = serializers.IntegerField()
    low_spo2 = serializers.IntegerField()
    low_rr = serializers.IntegerField()


class InSessionAlertCountsSerializer(serializers.Serializer):
    opened = serializers.IntegerField(help_text="In-session alerts opened by an alerting reading.")
    open = serializers.IntegerField(help_text="Still open (no one has recorded what was done).")
    by_action = serializers.DictField(
        child=serializers.IntegerField(), help_text="Closed alerts by what was done (recheck, adverse_event, other…)."
    )


class SafetySerializer(serializers.Serializer):
    dosing_sessions = serializers.IntegerField(help_text="Doses given to the courses counted.")
    events_total = serializers.IntegerField()
    events_per_100 = serializers.FloatField(allow_null=True)
    by_term = CountSerializer(many=True)
    by_grade = CountSerializer(many=True)
    serious = SeriousEventSerializer(many=True)
    events_outside_sessions = serializers.IntegerField(help_text="Events reported outside a dosing session.")
    holds = serializers.IntegerField(help_text="Pre-dose vital readings that held the dose.")
    overrides = serializers.IntegerField(help_text="Hold overrides documented by a medical provider.")
    overridden_doses = serializers.IntegerField(help_text="Doses given after at least one hold override.")
    discharge_exceptions = serializers.IntegerField(
        help_text="Discharges despite an alerting pre-discharge reading (or a monitoring shortfall found on "
        "correction), each with the provider's reason."
    )
    left_before_discharge = serializers.IntegerField(
        help_text="Patients who left before the discharge checks were met, each with what happened."
    )
    in_session_alerts = InSessionAlertCountsSerializer()
    alerts = AlertCountsSerializer(help_text="Vital readings above or below an alert threshold.")


class FollowUpWindowSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    day = serializers.IntegerField()
    tolerance = serializers.IntegerField()


class PerInstrumentSerializer(serializers.Serializer):
    phq9 = serializers.IntegerField()
    gad7 = serializers.IntegerField()
    pcl5 = serializers.IntegerField()


class DefinitionsSerializer(serializers.Serializer):
    baseline_days = serializers.IntegerField()
    end_first_day = serializers.IntegerField()
    end_last_day = serializers.IntegerField()
    follow_ups = FollowUpWindowSerializer(many=True)
    response_reduction_pct = serializers.IntegerField()
    partial_reduction_pct = serializers.IntegerField()
    pcl5_meaningful_drop = serializers.IntegerField()
    remission_below = PerInstrumentSerializer()
    eligible_from = PerInstrumentSerializer()
    suppression_threshold = serializers.IntegerField()


class FilterLabelSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField()


class LiteratureSerializer(serializers.Serializer):
    study = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    journal = serializers.CharField()
    doi = serializers.CharField(help_text="Blank where the clinic's source gives none.")
    n = serializers.CharField()
    protocol = serializers.CharField()
    result = serializers.CharField()
    source = serializers.CharField(help_text="Where the figure was read.")


class EchoedFiltersSerializer(ReportFilterSerializer):
    therapist = serializers.IntegerField(required=False)
    age_band = serializers.CharField(required=False)


class PracticeReportSerializer(serializers.Serializer):
    clinic = serializers.CharField()
    generated_at = serializers.DateTimeField()
    as_of = serializers.DateField(help_text="The clinic day the report counts up to.")
    filters = EchoedFiltersSerializer()
    filter_labels = FilterLabelSerializer(many=True)
    definitions = DefinitionsSerializer(help_text="The outcome definitions in force when the report was made.")
    n_courses = serializers.IntegerField()
    n_patients_dosed = serializers.IntegerField()
    course_flow = CourseFlowSerializer(
        help_text="Where every selected course stands; none leaves a denominator unseen."
    )
    instruments = InstrumentsSerializer()
    equity = EquityRowSerializer(many=True)
    safety = SafetySerializer()
    literature = LiteratureSerializer(many=True, help_text="Published figures; their definitions differ.")


def _rate(rate, threshold: int) -> dict | None:
    if rate is None:
        return None
    return {
        "numerator": rate.numerator,
        "denominator": rate.denominator,
        "pct": rate.pct,
        "ci_low": rate.low,
        "ci_high": rate.high,
        "suppressed": suppressed(rate, threshold),
    }


def _mean(mean) -> dict:
    return {"n": mean.n, "mean": mean.mean, "sd": mean.sd, "ci_low": mean.low, "ci_high": mean.high}


def _durability(d, threshold: int) -> dict:
    return {k: _rate(getattr(d, k), threshold) for k in ("all_itt", "all_oc", "responders_itt", "responders_oc")}


def _summary(summary, threshold: int, waived: int) -> dict:
    return {
        "instrument": summary.instrument,
        "loinc": INSTRUMENTS[summary.instrument].loinc_codes,
        "n_with_baseline": summary.n_with_baseline,
        "n_baseline_waived": waived,
        "n_eligible": summary.n_eligible,
        "baseline": _mean(summary.baseline),
        "end": _mean(summary.end),
        "means": {k: _mean(v) for k, v in summary.means.items()},
        **{
            k: _rate(getattr(summary, k), threshold)
            for k in ("response_itt", "response_oc", "partial_oc", "partial_itt", "remission_itt", "remission_oc")
        },
        "meaningful_change_oc": _rate(summary.meaningful_change_oc, threshold),
        "meaningful_change_itt": _rate(summary.meaningful_change_itt, threshold),
        "completion": {k: _rate(v, threshold) for k, v in summary.completion.items()},
        "durability": {k: _durability(v, threshold) for k, v in summary.durability.items()},
        "durability_by_maintenance": {
            k: {
                "with_maintenance": _durability(v["with"], threshold),
                "without_maintenance": _durability(v["without"], threshold),
            }
            for k, v in summary.durability_by_maintenance.items()
        },
        "still_responding": {k: _rate(v, threshold) for k, v in summary.still_responding.items()},
        "still_responding_itt": {k: _rate(v, threshold) for k, v in summary.still_responding_itt.items()},
        "km": [step.__dict__ for step in summary.km],
    }


def _course_flow(flow) -> dict:
    data = {name: getattr(flow, name) for name in CourseFlowSerializer().fields if name != "stalled_courses"}
    data["stalled_courses"] = [
        {
            "key": c.key,
            "last_dose": c.last_dose,
            "days_without_dose": c.days_without_dose,
            "doses_given": c.doses_given,
            "planned": c.planned,
        }
        for c in flow.stalled_courses
    ]
    return data


def practice_report_data(report) -> dict:
    """The practice report as plain data, in the shape PracticeReportSerializer describes."""
    threshold = report.suppression_threshold
    defs = report.definitions
    safety = report.safety
    return {
        "clinic": report.clinic,
        "generated_at": report.generated_at,
        "as_of": report.as_of,
        "filters": filters_out(report.filters),
        "filter_labels": [{"name": name, "value": value} for name, value in report.filter_labels],
        "definitions": {
            "baseline_days": defs.baseline_days,
            "end_first_day": defs.end_first_day,
            "end_last_day": defs.end_last_day,
            "follow_ups": [
                {"name": name, "label": FOLLOW_UP_LABELS[name], "day": day, "tolerance": tolerance}
                for name, day, tolerance in defs.follow_ups
            ],
            "response_reduction_pct": defs.response_reduction_pct,
            "partial_reduction_pct": defs.partial_reduction_pct,
            "pcl5_meaningful_drop": defs.pcl5_meaningful_drop,
            "remission_below": dict(defs.remission_below),
            "eligible_from": dict(defs.eligible_from),
            "suppression_threshold": threshold,
        },
        "n_courses": report.n_courses,
        "n_patients_dosed": report.n_patients_dosed,
        "course_flow": _course_flow(report.course_flow),
        "instruments": {
            k: _summary(v, threshold, report.waived_baselines.get(k, 0)) for k, v in report.summaries.items()
        },
        "equity": [
            {
                "instrument": instrument,
                "dimension": row.dimension,
                "group": row.group,
                "label": row.label,
                "n_courses": row.n_courses,
                "n_eligible": row.n_eligible,
                "response": _rate(row.response, threshold),
                "remission": _rate(row.remission, threshold),
                "sustained_6": _rate(row.sustained_6, threshold),
                "sustained_6_oc": _rate(row.sustained_6_oc, threshold),
            }
            for instrument, rows in report.equity.items()
            for row in rows
        ],
        "safety": {
            "dosing_sessions": safety["dosing_sessions"],
            "events_total": safety["events_total"],
            "events_per_100": safety["events_per_100"],
            "by_term": [{"name": t, "count": n, "per_100": p} for t, n, p in safety["by_term"]],
            "by_grade": [{"name": str(g), "count": n, "per_100": p} for g, n, p in safety["by_grade"]],
            "serious": safety["serious"],
            "events_outside_sessions": safety["events_outside_sessions"],
            "holds": safety["holds"],
            "overrides": safety["overrides"],
            "overridden_doses": safety["overridden_doses"],
            "discharge_exceptions": safety["discharge_exceptions"],
            "left_before_discharge": safety["left_before_discharge"],
            "in_session_alerts": safety["in_session_alerts"],
            "alerts": safety["alerts"],
        },
        "literature": [
            {
                "study": s.study,
                "year": s.year,
                "journal": s.journal,
                "doi": s.doi,
                "n": s.n,
                "protocol": s.protocol,
                "result": s.result,
                "source": s.source,
            }
            for s in report.literature
        ],
    }


# --- exports ----------------------------------------------------------------------------------


class ExportLinksSerializer(serializers.Serializer):
    self = serializers.CharField()
    download = serializers.CharField(allow_null=True, help_text="Null until the file is ready.")


class ExportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField(help_text=f"One of: {', '.join(ExportKind.values)}.")
    audience = serializers.CharField(help_text=f"One of: {', '.join(Audience.values)}.")
    status = serializers.CharField(help_text="One of: queued, running, done, failed.")
    progress = serializers.IntegerField(help_text="Percent, 0 to 100.")
    progress_note = serializers.CharField()
    error = serializers.CharField(help_text="Why the export failed; blank otherwise.")
    filters = serializers.DictField()
    course = serializers.UUIDField(allow_null=True)
    requested_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    filename = serializers.CharField()
    links = ExportLinksSerializer()


def export_data(export) -> dict:
    self_url = reverse("api-report-export", args=[export.pk])
    return {
        "id": export.pk,
        "kind": export.kind,
        "audience": export.audience,
        "status": export.status,
        "progress": export.progress,
        "progress_note": export.progress_note,
        "error": export.error,
        "filters": export.filters,
        "course": export.course_id,
        "requested_at": export.requested_at,
        "started_at": export.started_at,
        "finished_at": export.finished_at,
        "filename": export.filename,
        "links": {
            "self": self_url,
            "download": reverse("api-report-export-download", args=[export.pk]) if export.status == "done" else None,
        },
    }
