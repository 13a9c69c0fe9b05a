"""Adverse events of a course, during a dose or reported between sessions."""

from django.db import models
from django.db.models import Q
from django.urls import reverse

from courses.choices import (
    AdverseEventAction,
    AdverseEventGrade,
    AdverseEventOutcome,
    AdverseEventTerm,
    Expectedness,
    Relatedness,
)
from courses.models.base import STAFF, ClinicalRecord, VoidableQuerySet, free_text, range_check
from courses.models.courses import Course
from courses.models.dosing import Dose
from kernel.text import REASON_MAX


class AdverseEventQuerySet(VoidableQuerySet):
    def serious_unacknowledged(self):
        return self.active().filter(serious=True, acknowledged_at__isnull=True)


class AdverseEvent(ClinicalRecord):
    """An adverse event of a course: during a dose (dose set) or reported outside a dosing
    session (at an integration session, by phone), against the course alone."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="adverse_events")
    dose = models.ForeignKey(
        Dose,
        on_delete=models.PROTECT,
        related_name="adverse_events",
        null=True,
        blank=True,
        db_column="participant_id",
    )
    term = models.CharField(max_length=32, choices=AdverseEventTerm.choices)
    term_other = models.CharField("other (describe)", max_length=200, blank=True)
    grade = models.PositiveSmallIntegerField(choices=AdverseEventGrade.choices)
    serious = models.BooleanField(default=False)
    serious_criteria = models.JSONField(default=list, blank=True)
    onset_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    relatedness = models.CharField(max_length=16, choices=Relatedness.choices)
    # Blank only on events recorded before expectedness was asked.
    expectedness = models.CharField(max_length=16, choices=Expectedness.choices, blank=True)
    action_taken = models.CharField(max_length=32, choices=AdverseEventAction.choices, default=AdverseEventAction.NONE)
    outcome = models.CharField(max_length=32, choices=AdverseEventOutcome.choices, default=AdverseEventOutcome.ONGOING)
    description = free_text(blank=True)
    lead_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    acknowledgement_note = free_text(blank=True, limit=REASON_MAX)

    # The practice leads' serious-event mail is the system's doing, often while a provider still
    # has the event open to complete it.
    BOOKKEEPING_FIELDS = frozenset({"lead_notified_at"})

    objects = AdverseEventQuerySet.as_manager()

    class Meta:
        ordering = ["onset_at", "created_at"]
        constraints = ClinicalRecord.Meta.constraints + [
            range_check("grade", 1, 5, "adverse_event_grade_range", nullable=False),
            # Life-threatening and fatal events meet the 21 CFR 312.32 definition of serious.
            models.CheckConstraint(condition=Q(grade__lte=3) | Q(serious=True), name="adverse_event_grade4_serious"),
            # Grade 5 is death: the outcome is fatal, and only then (the "death" criterion is the service's check).
            models.CheckConstraint(
                condition=Q(grade=5, outcome=AdverseEventOutcome.FATAL)
                | ~Q(grade=5) & ~Q(outcome=AdverseEventOutcome.FATAL),
                name="adverse_event_grade5_fatal",
            ),
            models.CheckConstraint(
                condition=~Q(term=AdverseEventTerm.OTHER) | ~Q(term_other=""), name="adverse_event_other_described"
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("onset_at")),
                name="adverse_event_resolves_after_onset",
            ),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | Q(serious=True, acknowledged_by__isnull=False),
                name="adverse_event_acknowledged_serious_only",
            ),
        ]
        indexes = [
            # Serves the lead's dashboard: serious events awaiting acknowledgement.
            models.Index(
                fields=["onset_at"],
                condition=Q(serious=True, acknowledged_at__isnull=True, voided_at__isnull=True),
                name="adverse_event_sae_open",
            ),
        ]

    def __str__(self) -> str:
        term = self.term_other if self.term == AdverseEventTerm.OTHER else self.get_term_display()
        return f"{term} (grade {self.grade}{', serious' if self.serious else ''})"

    def get_absolute_url(self) -> str:
        """The page this record is shown on, where its actions return to."""
        # One from a dosing session is shown on that dose's page; one reported between sessions, on the course.
        if self.dose_id is not None:
            return reverse("dose", args=[self.dose_id])
        return reverse("course-timeline", args=[self.course_id])
