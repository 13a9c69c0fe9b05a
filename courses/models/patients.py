"""Registration: the patient and their recorded weights."""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse

from courses import rules
from courses.choices import Channel, RaceEthnicity, Sex
from courses.models.base import ClinicalRecord, PrintableName, free_text, range_check
from kernel.text import REASON_MAX


class Patient(ClinicalRecord):
    """A person in treatment. The UUID is the only identifier that ever appears in a URL."""

    mrn = models.CharField(
        "MRN", max_length=32, help_text="The clinic's medical record number.", validators=[PrintableName()]
    )
    given_name = models.CharField(max_length=80, validators=[PrintableName()])
    family_name = models.CharField(max_length=80, validators=[PrintableName()])
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=16, choices=Sex.choices)
    race_ethnicity = models.CharField(
        "race/ethnicity (self-reported)", max_length=32, choices=RaceEthnicity.choices, blank=True
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True, validators=[PrintableName()])
    preferred_channel = models.CharField(
        "questionnaire channel", max_length=8, choices=Channel.choices, default=Channel.EMAIL
    )

    class Meta:
        ordering = ["family_name", "given_name"]
        # The patient lists' order (the API's adds the id to break ties): a page is read off the index.
        indexes = [models.Index(fields=["family_name", "given_name", "id"], name="patient_name_order")]
        constraints = ClinicalRecord.Meta.constraints + [
            # "demo-0002" and "DEMO-0002" are one chart: MRNs are compared regardless of case.
            models.UniqueConstraint(
                Lower("mrn"),
                name="patient_mrn_unique_any_case",
                violation_error_message=rules.MRN_TAKEN,
            ),
            models.CheckConstraint(
                condition=~Q(preferred_channel=Channel.EMAIL) | ~Q(email=""),
                name="patient_email_channel_has_email",
                violation_error_message="Questionnaires by email need an email address.",
            ),
            models.CheckConstraint(
                condition=~Q(preferred_channel=Channel.SMS) | ~Q(phone=""),
                name="patient_sms_channel_has_phone",
                violation_error_message="Questionnaires by text message need a phone number.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def get_absolute_url(self) -> str:
        """The page this record is shown on, where its actions return to."""
        return reverse("patient-detail", args=[self.pk])

    @property
    def display_name(self) -> str:
        return f"{self.family_name}, {self.given_name}"


class WeightMeasurement(ClinicalRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="weights")
    measured_on = models.DateField()
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1)
    # Why a weight far from a recent one is right (re-weighed, an illness): mg/kg comes from it.
    change_reason = free_text("why it differs from the recent weight", limit=REASON_MAX, blank=True, default="")

    class Meta:
        ordering = ["-measured_on", "-created_at"]
        constraints = ClinicalRecord.Meta.constraints + [
            range_check("weight_kg", 20, 400, "weight_plausible", nullable=False),
        ]

    def __str__(self) -> str:
        return f"{self.weight_kg} kg on {self.measured_on}"
