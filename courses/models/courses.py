"""The treatment course and its status history."""

from django.db import models
from django.db.models import Q
from django.urls import reverse

from courses.choices import CourseStatus, Indication, SessionFormat
from courses.models.base import STAFF, ClinicalRecord, Permanent, VoidableQuerySet, free_text, range_check
from courses.models.patients import Patient
from kernel.text import REASON_MAX


class CourseQuerySet(VoidableQuerySet):
    def open(self):
        return self.active().exclude(status__in=[CourseStatus.COMPLETED, CourseStatus.DISCONTINUED])


class Course(ClinicalRecord):
    """One treatment course: evaluation through follow-up. A patient may have several."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    indication = models.CharField(max_length=32, choices=Indication.choices)
    indication_detail = models.CharField(max_length=200, blank=True)
    format = models.CharField(max_length=16, choices=SessionFormat.choices, default=SessionFormat.INDIVIDUAL)
    therapists = models.ManyToManyField(STAFF, related_name="therapist_courses")
    medical_provider = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="provider_courses")
    planned_dosing_sessions = models.PositiveSmallIntegerField(default=6)
    status = models.CharField(max_length=16, choices=CourseStatus.choices, default=CourseStatus.EVALUATION)
    # When things happened, not when they were typed: a clinic records last week's discontinuation,
    # or brings in last year's courses. The outcome definitions read these (reports/cohort.py).
    started_on = models.DateField("course start")
    start_backdated_reason = free_text(
        "why the start is earlier than the day it was recorded", blank=True, limit=REASON_MAX
    )
    status_changed_at = models.DateTimeField()
    discontinued_reason = free_text(blank=True, limit=REASON_MAX)
    # A discontinued course keeps its end-of-course and follow-up questionnaires (intention-to-treat
    # needs them) unless staff stop them, with a reason (the patient declined, moved away).
    follow_up_stopped_at = models.DateTimeField(null=True, blank=True)
    follow_up_stopped_reason = free_text("why follow-up questionnaires stopped", blank=True, limit=REASON_MAX)
    # A patient under the clinic's minimum age starts a course only on a practice lead's documented exception.
    age_exception_reason = free_text("minimum-age exception", blank=True, limit=REASON_MAX)
    age_exception_at = models.DateTimeField(null=True, blank=True)
    age_exception_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = ClinicalRecord.Meta.constraints + [
            range_check("planned_dosing_sessions", 1, 20, "course_planned_sessions_range", nullable=False),
            models.CheckConstraint(
                condition=~Q(status=CourseStatus.DISCONTINUED) | ~Q(discontinued_reason=""),
                name="course_discontinued_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(indication=Indication.OTHER) | ~Q(indication_detail=""),
                name="course_other_indication_described",
            ),
            models.CheckConstraint(
                condition=Q(age_exception_at__isnull=True, age_exception_by__isnull=True, age_exception_reason="")
                | Q(age_exception_at__isnull=False, age_exception_by__isnull=False) & ~Q(age_exception_reason=""),
                name="course_age_exception_complete",
            ),
            models.CheckConstraint(
                condition=Q(follow_up_stopped_at__isnull=True, follow_up_stopped_reason="")
                | Q(follow_up_stopped_at__isnull=False, status=CourseStatus.DISCONTINUED)
                & ~Q(follow_up_stopped_reason=""),
                name="course_follow_up_stop_explained",
            ),
        ]
        indexes = [
            # Serves the lead's dashboard and status filters: open courses by stage.
            models.Index(fields=["status", "created_at"], name="course_status_created"),
            # The API's course list (newest first, id to break ties): the first page is read off
            # the index, stopping at 50 rows of the caseload, instead of sorting every course.
            models.Index(fields=["-created_at", "id"], name="course_created_order"),
            # The same for a medical provider's caseload (their courses only).
            models.Index(fields=["medical_provider", "-created_at", "id"], name="course_provider_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_indication_display()} course ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        """The page this record is shown on, where its actions return to."""
        return reverse("course-timeline", args=[self.pk])


class CourseStatusChange(Permanent):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=CourseStatus.choices)
    to_status = models.CharField(max_length=16, choices=CourseStatus.choices)
    reason = free_text(blank=True, limit=REASON_MAX)
    changed_at = models.DateTimeField()  # when the change happened (back-dated: noon of its day)
    changed_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(null=True, blank=True)  # when it was typed (null before 2026-12)
    late_entry_reason = free_text("why it is recorded after the day it happened", blank=True, limit=REASON_MAX)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"
