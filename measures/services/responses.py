"""Answers: the patient's own through a single-use link, or entered by a clinician."""

from datetime import datetime, timedelta

from django.core import signing
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from courses.audit import audit
from courses.models import AuditAction, Dose
from kernel import clock
from kernel.validation import fail
from measures import scoring
from measures.instruments import Instrument
from measures.models import Administration, AdministrationStatus, MeasureSettings, Response, ResponseSource, Timepoint
from measures.services.base import _require_clinician_on_course
from measures.services.messages import LINK_SALT
from measures.services.safety import safety_alert_raise
from measures.services.schedule import schedule_sync


class LinkProblem(Exception):
    """Why a self-report link cannot be used; `kind` picks the page the patient sees."""

    def __init__(self, kind: str):
        self.kind = kind  # "invalid", "expired", "used", "closed"
        super().__init__(kind)


def self_report_resolve(*, token: str, now: datetime | None = None) -> Administration:
    """The administration a link is for, if it can still be answered; LinkProblem otherwise."""
    now = clock.now(now)
    max_age = timedelta(days=MeasureSettings.load().link_expiry_days)
    try:
        payload = signing.loads(token, salt=LINK_SALT)
    except (signing.BadSignature, ValueError):
        raise LinkProblem("invalid") from None
    if not isinstance(payload, dict) or not payload.get("n") or not isinstance(payload.get("t"), int):
        raise LinkProblem("invalid")
    try:
        administration = (
            Administration.objects.select_related("course__patient")
            .filter(pk=payload.get("a"), link_nonce=payload["n"])
            .first()
        )
    except ValidationError:  # not a UUID
        raise LinkProblem("invalid") from None
    if administration is None:
        raise LinkProblem("invalid")
    # "Used" before "expired": a patient who already answered should be told so.
    if administration.status == AdministrationStatus.COMPLETED:
        raise LinkProblem("used")
    if now.timestamp() - payload["t"] > max_age.total_seconds():
        raise LinkProblem("expired")
    if administration.status != AdministrationStatus.OPEN or administration.missed_after < timezone.localdate(now):
        raise LinkProblem("closed")
    return administration


def _store_response(
    *, administration: Administration, answers: dict, source: str, by: User | None, now: datetime, answered_at=None
) -> Response:
    try:
        result = scoring.score(administration.instrument, answers, pcl5_cutoff=MeasureSettings.load().pcl5_cutoff)
    except scoring.AnswerError as exc:
        raise ValidationError(exc.errors) from None
    clean = scoring.normalise_answers(administration.instrument, answers)
    try:
        with transaction.atomic():
            response = Response.objects.create(
                administration=administration,
                course=administration.course,
                patient=administration.course.patient,
                instrument=administration.instrument,
                answers={str(k): v for k, v in clean.items()},
                complete=result.complete,
                total=result.total,
                band=result.band,
                safety_item_value=result.safety_item_value,
                clusters=result.clusters,
                provisional_ptsd_cutoff=result.provisional_ptsd_cutoff,
                provisional_ptsd_symptom_rule=result.provisional_ptsd_symptom_rule,
                scoring_version=result.version,
                source=source,
                entered_by=by,
                answered_at=answered_at or now,
            )
    except IntegrityError:
        fail(NON_FIELD_ERRORS, "This questionnaire has already been answered; the first answers are kept.")
    audit(
        actor=by,
        action=AuditAction.CREATE,
        patient=administration.course.patient,
        record=response,
        detail=f"{administration.instrument} {'complete' if result.complete else 'incomplete'} via {source}",
        at=now,
    )
    if result.safety_item_positive:
        safety_alert_raise(response=response, now=now)
    if administration.instrument == Instrument.PCL5 and administration.timepoint == Timepoint.BASELINE:
        # A baseline PCL-5 at the cut-off brings PCL-5 into the follow-up schedule.
        schedule_sync(course=administration.course, now=now)
    return response


@transaction.atomic
def response_submit_self_report(*, token: str, answers: dict, now: datetime | None = None) -> Response:
    """The patient's answers, in one step. The link is single-use: the conditional update
    that completes the administration is the claim, and a second submission finds it taken."""
    now = clock.now(now)
    administration = self_report_resolve(token=token, now=now)
    claimed = Administration.objects.filter(
        pk=administration.pk, status=AdministrationStatus.OPEN, link_nonce=administration.link_nonce
    ).update(status=AdministrationStatus.COMPLETED, completed_at=now)
    if not claimed:
        raise LinkProblem("used")
    return _store_response(
        administration=administration, answers=answers, source=ResponseSource.SELF_REPORT, by=None, now=now
    )


def _before_its_dose(administration: Administration, answered_at: datetime) -> None:
    """A questionnaire "before dosing" holds the patient's state before the dose: once the dose is
    given, only answers given before it may be entered (a paper form filled in the waiting room),
    dated; answers after it would be read as pre-dose scores (schedule_sync closes its link then)."""
    if administration.timepoint != Timepoint.PRE_DOSE or administration.dose_id is None:
        return
    dosed_at = Dose.objects.filter(pk=administration.dose_id).values_list("dosed_at", flat=True).first()
    if dosed_at is not None and answered_at > dosed_at:
        fail(
            "answered_at",
            f"This questionnaire is for before the dose, given at {timezone.localtime(dosed_at):%Y-%m-%d %H:%M}: "
            "enter the time the patient answered it, before the dose, or leave it missed.",
        )


@transaction.atomic
def response_enter(
    *,
    administration: Administration,
    by: User,
    answers: dict,
    answered_at: datetime | None = None,
    now: datetime | None = None,
) -> Response:
    """A clinician enters answers on the patient's behalf, during a session; recorded as such."""
    now = clock.now(now)
    administration = (
        Administration.objects.select_for_update().select_related("course__patient").get(pk=administration.pk)
    )
    if not by.is_clinician:
        raise PermissionDenied("Only a therapist or medical provider can enter answers for a patient.")
    _require_clinician_on_course(by, administration.course, "enter answers")
    if administration.status == AdministrationStatus.COMPLETED:
        fail(NON_FIELD_ERRORS, "This questionnaire has already been answered; the first answers are kept.")
    if administration.status in (AdministrationStatus.CANCELLED, AdministrationStatus.WAIVED):
        fail(NON_FIELD_ERRORS, f"This questionnaire was {administration.get_status_display().lower()}.")
    if answered_at and answered_at > now + timedelta(minutes=5):
        fail("answered_at", "The answers cannot be dated in the future.")
    _before_its_dose(administration, answered_at or now)
    Administration.objects.filter(pk=administration.pk).update(status=AdministrationStatus.COMPLETED, completed_at=now)
    return _store_response(
        administration=administration,
        answers=answers,
        source=ResponseSource.CLINICIAN,
        by=by,
        now=now,
        answered_at=answered_at,
    )
