"""Outcome definitions in force (a clinic setting) and report exports made by Celery."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from courses.models import Course
from kernel.models import SingletonSettings
from measures.models import MeasureSettings
from reports.outcomes import Definitions

STAFF = settings.AUTH_USER_MODEL


class OutcomeSettings(SingletonSettings):
    """DOMAIN §6 definitions of the figures, with its defaults. Every report prints the values in force.

    The timing of the outcomes (baseline days, the end-of-course and follow-up windows) and the
    PCL-5 cut-off are the measure schedule's (measures.models.MeasureSettings): one value that
    both the questionnaires and the report read, so the report never counts a window the
    schedule did not ask in. `definitions()` joins the two."""

    response_reduction_pct = models.PositiveSmallIntegerField("response: % reduction from baseline", default=50)
    partial_reduction_pct = models.PositiveSmallIntegerField("partial response: % reduction from", default=25)
    pcl5_meaningful_drop = models.PositiveSmallIntegerField("PCL-5 meaningful change: points", default=10)
    phq9_remission_below = models.PositiveSmallIntegerField("PHQ-9 remission: below", default=5)
    gad7_remission_below = models.PositiveSmallIntegerField("GAD-7 remission: below", default=5)
    pcl5_remission_below = models.PositiveSmallIntegerField("PCL-5 remission: below", default=33)
    phq9_eligible_from = models.PositiveSmallIntegerField("PHQ-9 baseline cut-off", default=10)
    gad7_eligible_from = models.PositiveSmallIntegerField("GAD-7 baseline cut-off", default=10)
    suppression_threshold = models.PositiveSmallIntegerField(
        "small-cell suppression in exports: fewer than", default=11
    )
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    class Meta:
        verbose_name_plural = "outcome settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="outcome_settings_single_row"),
            models.CheckConstraint(
                condition=Q(
                    partial_reduction_pct__lt=models.F("response_reduction_pct"), response_reduction_pct__lte=100
                ),
                name="outcome_settings_partial_below_response",
            ),
            models.CheckConstraint(
                condition=Q(suppression_threshold__gte=1, suppression_threshold__lte=100),
                name="outcome_settings_suppression_range",
            ),
        ]

    def __str__(self) -> str:
        return "Outcome definitions"

    def definitions(self, schedule: MeasureSettings) -> Definitions:
        """The report's definitions: this row's figures over the schedule's timing and PCL-5 cut-off."""
        return Definitions(
            baseline_days=schedule.baseline_days_before_first_dose,
            end_first_day=schedule.end_of_course_first_day,
            end_last_day=schedule.end_of_course_last_day,
            follow_ups=(
                ("month_1", schedule.month_1_day, schedule.month_1_tolerance),
                ("month_3", schedule.month_3_day, schedule.month_3_tolerance),
                ("month_6", schedule.month_6_day, schedule.month_6_tolerance),
            ),
            response_reduction_pct=self.response_reduction_pct,
            partial_reduction_pct=self.partial_reduction_pct,
            pcl5_meaningful_drop=self.pcl5_meaningful_drop,
            remission_below={
                "phq9": self.phq9_remission_below,
                "gad7": self.gad7_remission_below,
                "pcl5": self.pcl5_remission_below,
            },
            eligible_from={
                "phq9": self.phq9_eligible_from,
                "gad7": self.gad7_eligible_from,
                "pcl5": schedule.pcl5_cutoff,
            },
        )


class ExportKind(models.TextChoices):
    PRACTICE_PDF = "practice_pdf", "Practice outcome report (PDF)"
    PRACTICE_CSV = "practice_csv", "Outcome data for analysts (CSV)"
    # The lists the practice PDF summarises (serious adverse events, Kaplan–Meier steps), complete.
    PRACTICE_LISTS = "practice_lists", "Serious events and Kaplan–Meier steps (CSV)"
    PATIENT_PDF = "patient_pdf", "Patient progress report (PDF)"


class Audience(models.TextChoices):
    """Who a practice export is for. Inside the clinic the figures are exact; a file to share
    outside is de-identified to HIPAA Safe Harbor and hides every small cell (DOMAIN §6)."""

    INSIDE = "inside", "Inside the clinic"
    OUTSIDE = "outside", "To share outside the clinic"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class ReportExport(models.Model):
    """A file made by a Celery worker. The bytes live in the database so that any web machine
    can serve what any worker machine made, with no shared disk."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=ExportKind.choices)
    # A patient's progress report names the patient: it is for inside the clinic only.
    audience = models.CharField(max_length=8, choices=Audience.choices, default=Audience.OUTSIDE)
    # The small-cell threshold in force when the file was asked for: the file hides by it.
    suppression_threshold = models.PositiveSmallIntegerField(null=True, blank=True)
    filters = models.JSONField(default=dict, blank=True)
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    requested_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    progress_note = models.CharField(max_length=120, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    filename = models.CharField(max_length=120, blank=True)
    content_type = models.CharField(max_length=60, blank=True)
    content = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-requested_at"]
        # The API's export list as a lead sees it (everyone's, newest first); another member of
        # staff's own are found by requested_by's index.
        indexes = [models.Index(fields=["-requested_at", "id"], name="report_export_requested_order")]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="report_export_progress_pct"),
            models.CheckConstraint(
                condition=~Q(kind=ExportKind.PATIENT_PDF) | Q(course__isnull=False),
                name="report_export_patient_report_names_course",
            ),
            models.CheckConstraint(
                condition=~Q(status=ExportStatus.DONE) | Q(content__isnull=False), name="report_export_done_has_file"
            ),
            models.CheckConstraint(
                condition=~Q(kind=ExportKind.PATIENT_PDF) | Q(audience=Audience.INSIDE),
                name="report_export_patient_report_stays_inside",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"


class DataVersion(models.Model):
    """One row: a number that moves after every committed write the practice report could read
    (reports/data_version.py). A counted report is current while its version is this one."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="data_version_single_row")]

    def __str__(self) -> str:
        return f"data version {self.n}"


class ReportCount(models.Model):
    """The practice report for one set of filters on one clinic day, counted by a worker
    (reports/counts.py), so that the page and the API answer without counting. Derived data: it is
    replaced when the record changes and pruned after its day, never a record of its own."""

    key = models.CharField(max_length=64, unique=True)  # sha256 of the filters, the day and the code
    filters = models.JSONField(default=dict, blank=True)
    as_of = models.DateField()
    # What is stored: the report as counted at `data_version` (a pickle of reports.report.PracticeReport).
    data_version = models.BigIntegerField(null=True)
    counted_at = models.DateTimeField(null=True)
    payload = models.BinaryField(null=True, editable=False)
    # New with every payload written: a process that has read this one keeps it by this name.
    payload_id = models.UUIDField(null=True, editable=False)
    # A count under way: the version it was asked for, and since when (a count that never finished,
    # its worker killed, is asked again after COUNT_TIMEOUT).
    counting_version = models.BigIntegerField(null=True)
    counting_since = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["as_of"], name="report_count_as_of")]

    def __str__(self) -> str:
        return f"report count {self.as_of} v{self.data_version}"
