"""Who sees what: the caller's caseload as querysets, and "one record or 404" over them.

A therapist sees the courses they are assigned to, a medical provider the courses and dosing
sessions they are assigned to, a practice lead everything. Every other selector builds on these.
"""

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from courses.models import Course, Dose, DosingSession, Patient


def _sees_everything(user) -> bool:
    return user.is_practice_lead


def courses_for(user) -> QuerySet[Course]:
    """Courses on the user's caseload: a therapist's own, a provider's assigned, a lead's all."""
    qs = Course.objects.all()
    if _sees_everything(user):
        return qs
    if user.is_therapist:
        return qs.filter(Exists(Course.therapists.through.objects.filter(course_id=OuterRef("pk"), user_id=user.pk)))
    if user.is_medical_provider:
        return qs.filter(medical_provider=user)
    return qs.none()


def patients_for(user) -> QuerySet[Patient]:
    qs = Patient.objects.all()
    if _sees_everything(user):
        return qs
    if not user.is_clinician:
        return qs.none()
    # A patient just registered, before any course, stays visible to whoever registered them;
    # once a course exists, the caseload decides.
    has_course = Exists(Course.objects.filter(patient=OuterRef("pk")))
    return qs.filter(
        Q(Exists(courses_for(user).filter(patient=OuterRef("pk")))) | (Q(created_by=user) & ~Q(has_course))
    )


def patients_for_list(user) -> QuerySet[Patient]:
    """The same patients as `patients_for`, in the form a whole list reads fastest.

    Two uncorrelated IN lists instead of correlated EXISTS: PostgreSQL costs the correlated form
    as if it ran once per patient, which at 10,000 patients crossed its JIT threshold and spent
    10-25 ms compiling a 5 ms query on every page of the patient list. For one patient the
    correlated form is the fast one (an index probe, not the caseload's whole list): `patients_for`
    keeps it, and a test holds the two to the same rows."""
    qs = Patient.objects.all()
    if _sees_everything(user):
        return qs
    if not user.is_clinician:
        return qs.none()
    return qs.filter(
        Q(pk__in=courses_for(user).values("patient_id")) | Q(pk__in=registered_without_course(user).values("pk"))
    )


def registered_without_course(user) -> QuerySet[Patient]:
    """The patients USER registered that have no course yet (on their list until one is opened)."""
    return Patient.objects.filter(created_by=user).exclude(Exists(Course.objects.filter(patient=OuterRef("pk"))))


def dosing_sessions_for(user) -> QuerySet[DosingSession]:
    qs = DosingSession.objects.all()
    if _sees_everything(user):
        return qs
    if user.is_therapist:
        return qs.filter(
            Exists(DosingSession.facilitators.through.objects.filter(dosingsession_id=OuterRef("pk"), user_id=user.pk))
        )
    if user.is_medical_provider:
        return qs.filter(medical_provider=user)
    return qs.none()


def doses_for(user) -> QuerySet[Dose]:
    """A dose is visible through its session (the people in the room) or its course."""
    if _sees_everything(user):
        return Dose.objects.all()
    return Dose.objects.filter(Q(session__in=dosing_sessions_for(user)) | Q(course__in=courses_for(user)))


def _get_or_404(qs: QuerySet, pk):
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError, ValidationError):
        # A malformed id is answered like a missing one: nothing to learn from the difference.
        raise Http404("No such record on your caseload.") from None
