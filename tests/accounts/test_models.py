"""Staff accounts: the roles and what each one is."""

import pytest
from django.db import IntegrityError

from accounts.models import Role, User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "role, therapist, provider, lead, clinician",
    [
        (Role.THERAPIST, True, False, False, True),
        (Role.MEDICAL_PROVIDER, False, True, False, True),
        (Role.PRACTICE_LEAD, False, False, True, False),
        ("", False, False, False, False),
    ],
)
def test_role_properties(role, therapist, provider, lead, clinician):
    user = User(username="u", role=role)
    assert (user.is_therapist, user.is_medical_provider, user.is_practice_lead, user.is_clinician) == (
        therapist,
        provider,
        lead,
        clinician,
    )
    assert user.is_clinic_staff is bool(role)


def test_a_superuser_acts_as_practice_lead():
    assert User(username="root", is_superuser=True).is_practice_lead


def test_an_unknown_role_is_refused_by_the_database():
    with pytest.raises(IntegrityError):
        User.objects.create(username="x", role="surgeon")


def test_str_shows_credentials():
    assert str(User(username="t", first_name="Tess", last_name="T", credentials="LCSW")) == "Tess T, LCSW"
