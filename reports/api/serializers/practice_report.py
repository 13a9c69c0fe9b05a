"""The practice report as the API answers it: the output serializers that describe the plain data
`practice_report_data` builds."""

from rest_framework import serializers

from reports.api.serializers.filters import ReportFilterSerializer
from reports.outcomes import FOLLOW_UPS


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
    generated_at = serializers.DateTimeField(help_text="When these figures were counted.")
    current = serializers.BooleanField(help_text="True when nothing the report reads has changed since `generated_at`.")
    counting = serializers.BooleanField(help_text="True while a worker counts the figures again.")
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
