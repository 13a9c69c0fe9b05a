"""Measures: the schedule of questionnaires per course, the answers, messages and safety alerts.

The database is the one source of truth for what is due: Celery beat only says "look now",
and the tick's services read these rows, claim work with conditional updates, and lean on
the unique constraints below so that no administration or message is ever made twice.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from courses.models import Course, Dose, Patient, Permanent, free_text
from kernel.models import SingletonSettings
from kernel.text import REASON_MAX
from measures.instruments import Instrument

STAFF = settings.AUTH_USER_MODEL


class Timepoint(models.TextChoices):
    BASELINE = "baseline", "Baseline"
    PRE_DOSE = "pre_dose", "Before dosing session"
    END_OF_COURSE = "end_of_course", "End of acute course"
    MONTH_1 = "month_1", "+1 month"
    MONTH_3 = "month_3", "+3 months"
    MONTH_6 = "month_6", "+6 months"
    AD_HOC = "ad_hoc", "Additional"


FOLLOW_UP_TIMEPOINTS = (Timepoint.MONTH_1, Timepoint.MONTH_3, Timepoint.MONTH_6)


def default_instruments_by_timepoint() -> dict[str, list[str]]:
    # DOMAIN §7. PCL-5 after baseline applies only to PTSD courses or a baseline PCL-5 at cut-off.
    every = [Instrument.PHQ9.value, Instrument.GAD7.value, Instrument.PCL5.value]
    return {
        Timepoint.BASELINE.value: every,
        Timepoint.PRE_DOSE.value: [Instrument.PHQ9.value, Instrument.GAD7.value],
        Timepoint.END_OF_COURSE.value: every,
        Timepoint.MONTH_1.value: every,
        Timepoint.MONTH_3.value: every,
        Timepoint.MONTH_6.value: every,
    }


class MeasureSettings(SingletonSettings):
    """The clinic's measure schedule (DOMAIN §6–7 defaults). One row; changes are audited."""

    instruments_by_timepoint = models.JSONField(default=default_instruments_by_timepoint)
    baseline_days_before_first_dose = models.PositiveSmallIntegerField(default=30)
    pre_dose_min_interval_days = models.PositiveSmallIntegerField(default=7)
    pre_dose_open_days_before = models.PositiveSmallIntegerField(default=3)
    end_of_course_first_day = models.PositiveSmallIntegerField(default=1)
    end_of_course_last_day = models.PositiveSmallIntegerField(default=14)
    month_1_day = models.PositiveSmallIntegerField(default=30)
    month_1_tolerance = models.PositiveSmallIntegerField(default=7)
    month_3_day = models.PositiveSmallIntegerField(default=90)
    month_3_tolerance = models.PositiveSmallIntegerField(default=21)
    month_6_day = models.PositiveSmallIntegerField(default=180)
    month_6_tolerance = models.PositiveSmallIntegerField(default=30)
    pcl5_cutoff = models.PositiveSmallIntegerField("PCL-5 provisional PTSD cut-off", default=33)
    # DOMAIN §6: a course in its induction series with no dose for longer than this has in effect
    # ended (its follow-ups are planned, it enters intention-to-treat, the worklist asks about it).
    stall_after_days = models.PositiveSmallIntegerField(
        "a course stalls after this many days without a dose", default=28
    )
    link_expiry_days = models.PositiveSmallIntegerField(default=7)
    reminder_after_days = models.PositiveSmallIntegerField(default=3)
    send_max_attempts = models.PositiveSmallIntegerField(default=6)
    # A PHQ-9 item 9 alert nobody has acknowledged after this long goes to the practice leads.
    safety_alert_escalation_hours = models.PositiveSmallIntegerField(
        "hours before an unacknowledged item 9 alert goes to the practice leads", default=24
    )
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    class Meta:
        verbose_name_plural = "measure settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="measure_settings_single_row"),
            models.CheckConstraint(
                condition=Q(end_of_course_first_day__lte=F("end_of_course_last_day")),
                name="measure_settings_end_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(month_1_day__lt=F("month_3_day"), month_3_day__lt=F("month_6_day")),
                name="measure_settings_follow_ups_ordered",
            ),
            models.CheckConstraint(
                condition=Q(link_expiry_days__gte=1, link_expiry_days__lte=60), name="measure_settings_link_expiry"
            ),
            models.CheckConstraint(
                condition=Q(send_max_attempts__gte=1, send_max_attempts__lte=20), name="measure_settings_attempts"
            ),
            models.CheckConstraint(
                condition=Q(pcl5_cutoff__gte=0, pcl5_cutoff__lte=80), name="measure_settings_pcl5_cutoff"
            ),
            models.CheckConstraint(
                condition=Q(stall_after_days__gte=7, stall_after_days__lte=365), name="measure_settings_stall_days"
            ),
            models.CheckConstraint(
                condition=Q(safety_alert_escalation_hours__gte=1, safety_alert_escalation_hours__lte=168),
                name="measure_settings_alert_escalation",
            ),
        ]

    def __str__(self) -> str:
        return "Measure schedule settings"


class AdministrationStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    OPEN = "open", "Open"
    COMPLETED = "completed", "Completed"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "Cancelled"
    # A baseline a clinician decided to go without, with the reason (shown as such on the report).
    WAIVED = "waived", "Waived"


class Administration(Permanent):
    """One questionnaire to be answered by one patient in a window of days."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="administrations")
    instrument = models.CharField(max_length=8, choices=Instrument.choices)
    timepoint = models.CharField(max_length=16, choices=Timepoint.choices)
    dose = models.ForeignKey(
        Dose,
        on_delete=models.PROTECT,
        related_name="administrations",
        null=True,
        blank=True,
        db_column="participant_id",
    )
    target_date = models.DateField()
    open_from = models.DateField()
    due_by = models.DateField()
    missed_after = models.DateField(help_text="The last day an answer is accepted.")
    status = models.CharField(
        max_length=16, choices=AdministrationStatus.choices, default=AdministrationStatus.SCHEDULED
    )
    manually_adjusted = models.BooleanField(default=False)
    adjustment_reason = free_text(blank=True, limit=REASON_MAX)
    link_nonce = models.CharField(max_length=32, blank=True, editable=False)
    link_issued_at = models.DateTimeField(null=True, blank=True, editable=False)
    opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    missed_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_reason = free_text(blank=True, limit=REASON_MAX)
    waived_at = models.DateTimeField(null=True, blank=True)
    waived_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    waived_reason = free_text(blank=True, limit=REASON_MAX)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["target_date", "instrument"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "instrument", "timepoint"],
                condition=Q(dose__isnull=True) & ~Q(timepoint=Timepoint.AD_HOC),
                name="administration_one_per_course_timepoint",
            ),
            models.UniqueConstraint(
                fields=["dose", "instrument"],
                condition=Q(dose__isnull=False),
                name="administration_one_per_dose",
            ),
            models.CheckConstraint(
                condition=Q(open_from__lte=F("due_by"), due_by__lte=F("missed_after")),
                name="administration_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(target_date__gte=F("open_from"), target_date__lte=F("missed_after")),
                name="administration_target_in_window",
            ),
            models.CheckConstraint(
                condition=Q(dose__isnull=True) | Q(timepoint=Timepoint.PRE_DOSE),
                name="administration_participant_only_pre_dose",
            ),
            models.CheckConstraint(
                condition=~Q(status=AdministrationStatus.CANCELLED) | ~Q(cancelled_reason=""),
                name="administration_cancel_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=AdministrationStatus.WAIVED)
                | Q(waived_at__isnull=False, waived_by__isnull=False, timepoint=Timepoint.BASELINE)
                & ~Q(waived_reason=""),
                name="administration_waiver_complete",
            ),
        ]
        indexes = [
            # Serves the tick: scheduled administrations whose window has opened.
            models.Index(
                fields=["open_from"],
                condition=Q(status=AdministrationStatus.SCHEDULED),
                name="administration_to_open",
            ),
            # Serves the tick and the worklist: open administrations by deadline.
            models.Index(
                fields=["missed_after"], condition=Q(status=AdministrationStatus.OPEN), name="administration_open"
            ),
            models.Index(fields=["course", "target_date"], name="administration_course"),
        ]

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} · {self.get_timepoint_display()} ({self.get_status_display()})"

    @property
    def is_follow_up(self) -> bool:
        return self.timepoint in FOLLOW_UP_TIMEPOINTS


class ResponseSource(models.TextChoices):
    SELF_REPORT = "self_report", "Patient (self-report link)"
    CLINICIAN = "clinician", "Clinician, on the patient's behalf"


class Response(Permanent):
    """The answers to one administration: every item kept, with the score and its version."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    administration = models.OneToOneField(Administration, on_delete=models.PROTECT, related_name="response")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="responses")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="responses")
    instrument = models.CharField(max_length=8, choices=Instrument.choices)
    answers = models.JSONField(help_text="Item number → answer value; null where unanswered.")
    complete = models.BooleanField()
    total = models.PositiveSmallIntegerField(null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    safety_item_value = models.PositiveSmallIntegerField(null=True, blank=True)
    clusters = models.JSONField(default=dict, blank=True)
    provisional_ptsd_cutoff = models.BooleanField(null=True)
    provisional_ptsd_symptom_rule = models.BooleanField(null=True)
    scoring_version = models.CharField(max_length=16)
    source = models.CharField(max_length=16, choices=ResponseSource.choices)
    entered_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    answered_at = models.DateTimeField()

    class Meta:
        ordering = ["answered_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(complete=False, total__isnull=True) | Q(complete=True, total__isnull=False),
                name="response_scored_iff_complete",
            ),
            models.CheckConstraint(
                condition=~Q(source=ResponseSource.CLINICIAN) | Q(entered_by__isnull=False),
                name="response_clinician_entry_names_clinician",
            ),
        ]
        indexes = [
            # Serves charts and outcome reports: a course's scores per instrument in time order.
            models.Index(fields=["course", "instrument", "answered_at"], name="response_course_instrument"),
        ]

    def __str__(self) -> str:
        if self.complete:
            return f"{self.get_instrument_display()} {self.total}" + (f" ({self.band})" if self.band else "")
        return f"{self.get_instrument_display()} incomplete"


class SafetyAlert(Permanent):
    """PHQ-9 item 9 above 0: open until a clinician records what was done."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    response = models.OneToOneField(Response, on_delete=models.PROTECT, related_name="safety_alert")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="safety_alerts")
    item_value = models.PositiveSmallIntegerField()
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    action_note = free_text(blank=True, limit=REASON_MAX)
    # Still open after the clinic's time: sent on to the practice leads (mail and dashboard), once.
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | (Q(acknowledged_by__isnull=False) & ~Q(action_note="")),
                name="safety_alert_ack_has_note",
            ),
            models.CheckConstraint(condition=Q(item_value__gte=1, item_value__lte=3), name="safety_alert_item_value"),
        ]
        indexes = [
            # Serves every landing page's banner: open alerts.
            models.Index(fields=["raised_at"], condition=Q(acknowledged_at__isnull=True), name="safety_alert_open"),
        ]

    def __str__(self) -> str:
        return f"PHQ-9 item 9 = {self.item_value}" + (" (acknowledged)" if self.acknowledged_at else " (open)")


class MessageKind(models.TextChoices):
    INVITATION = "invitation", "Invitation"
    REMINDER = "reminder", "Reminder"
    NEW_LINK = "new_link", "New link sent by staff"
    SAFETY_ALERT = "safety_alert", "Safety alert to clinician"
    SAFETY_ESCALATION = "safety_escalation", "Unacknowledged safety alert to practice lead"


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Waiting to send"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed after every retry"
    # Checked at send time: the questionnaire was answered, cancelled or its window closed first.
    NOT_NEEDED = "not_needed", "Not sent: no longer needed"


class OutboundMessage(Permanent):
    """A message to send. Made once (unique per purpose), claimed before each attempt, and
    kept visible to staff when every attempt failed: never silently dropped."""

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=24, choices=MessageKind.choices)
    channel = models.CharField(max_length=8, choices=[("email", "Email"), ("sms", "Text message")])
    to_address = models.CharField(max_length=254)
    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="messages", null=True, blank=True
    )
    safety_alert = models.ForeignKey(
        SafetyAlert, on_delete=models.PROTECT, related_name="messages", null=True, blank=True
    )
    recipient = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    status = models.CharField(max_length=16, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    # After the quick retries: the beat sweep tries again at this time (doubling, capped) ...
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # ... until this time, when the message is "failed" and waits for staff (longer for safety mail).
    retry_until = models.DateTimeField(null=True, blank=True)
    not_needed_reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # The tick's messages are made once; staff may send a new link as often as needed.
            models.UniqueConstraint(
                fields=["administration", "kind"],
                condition=Q(administration__isnull=False, kind__in=["invitation", "reminder"]),
                name="message_once_per_administration_kind",
            ),
            models.UniqueConstraint(
                fields=["safety_alert", "recipient", "kind"],
                condition=Q(safety_alert__isnull=False),
                name="message_once_per_alert_recipient_kind",
            ),
            models.CheckConstraint(
                condition=Q(administration__isnull=False) | Q(safety_alert__isnull=False),
                name="message_has_a_purpose",
            ),
        ]
        indexes = [
            # Serves the tick's re-queue and the staff list of messages not yet sent.
            models.Index(
                fields=["created_at"],
                condition=Q(status__in=[MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.FAILED]),
                name="message_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.channel} ({self.get_status_display()})"
