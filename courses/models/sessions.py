"""Therapy around the doses: preparatory and integration sessions."""

from django.db import models
from django.urls import reverse

from courses.choices import SessionFormat
from courses.models.base import STAFF, SignableRecord, free_text, range_check
from courses.models.courses import Course


class PreparatorySession(SignableRecord):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="preparatory_sessions")
    therapist = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    held_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    topics = models.JSONField(default=list, blank=True)
    intentions = free_text(blank=True)
    note = free_text()

    class Meta:
        ordering = ["held_at"]
        constraints = SignableRecord.Meta.constraints + [
            range_check("duration_minutes", 5, 480, "preparatory_session_duration_range", nullable=False),
        ]

    def __str__(self) -> str:
        return f"Preparatory session {self.held_at:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        """The page this record is shown on, where its actions return to."""
        return reverse("course-timeline", args=[self.course_id])


class IntegrationSession(SignableRecord):
    """Integration after dosing; a group session lists every participating course."""

    courses = models.ManyToManyField(Course, related_name="integration_sessions")
    format = models.CharField(max_length=16, choices=SessionFormat.choices, default=SessionFormat.INDIVIDUAL)
    therapist = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    held_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    techniques = models.JSONField(default=list, blank=True)
    note = free_text()

    class Meta:
        ordering = ["held_at"]
        constraints = SignableRecord.Meta.constraints + [
            range_check("duration_minutes", 5, 480, "integration_session_duration_range", nullable=False),
        ]

    def __str__(self) -> str:
        return f"Integration session {self.held_at:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        """The page this record is shown on, where its actions return to."""
        # A group session is shown on each of its courses' timelines: the first one stands for it.
        first = self.courses.order_by("created_at").first()
        return reverse("course-timeline", args=[first.pk]) if first else reverse("home")
