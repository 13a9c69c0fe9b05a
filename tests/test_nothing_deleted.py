"""Nothing clinical is hard-deleted: not through the models, the admin, the API, the web, nor (on
PostgreSQL) a hand-typed DELETE. A new model in courses or measures must be Permanent or be
listed here with the reason it may lose rows."""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.db import DatabaseError, connection, models, transaction
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import User
from courses.models import AuditEvent, Permanent

# Models in the clinical apps that are not rows of a patient's record, and why.
NOT_CLINICAL = {
    "courses.ClinicSettings": "the practice's settings singleton, edited in place",
    "measures.MeasureSettings": "the practice's questionnaire-schedule singleton, edited in place",
    "courses.AuditEvent": "append-only under its own stricter rule (no update either), tested in test_audit",
}
# Admin pages where deleting is allowed, and why none of them holds clinical data.
ADMIN_DELETE_ALLOWED = {
    "auth.Group": "permission groups (kapclinic uses roles, not groups)",
    "authtoken.TokenProxy": "revoking an API token is how access is withdrawn",
    "axes.AccessAttempt": "clearing failed logins unlocks an account",
    "axes.AccessLog": "login log kept by django-axes, not the clinical audit trail",
    "axes.AccessFailureLog": "login-failure log kept by django-axes",
    "otp_totp.TOTPDevice": "removing a lost phone is how its owner re-enrols (accounts/mfa.py)",
    "otp_static.StaticDevice": "removing recovery codes withdraws them",
}


def _clinical_models():
    for label in ("courses", "measures"):
        for model in apps.get_app_config(label).get_models():
            if model._meta.auto_created or model._meta.label in NOT_CLINICAL:
                continue
            yield model


def test_every_clinical_model_is_permanent():
    loose = [m._meta.label for m in _clinical_models() if not issubclass(m, Permanent)]
    assert loose == [], f"make these Permanent or list them in NOT_CLINICAL with a reason: {loose}"


@pytest.mark.parametrize("model", list(_clinical_models()), ids=lambda m: m._meta.label)
def test_neither_a_row_nor_a_queryset_can_be_deleted(model):
    with pytest.raises(models.ProtectedError):
        model().delete()
    with pytest.raises(models.ProtectedError):
        model.objects.none().delete()


def test_the_admin_offers_no_delete_on_anything_clinical_or_on_staff():
    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    deletable = {
        model._meta.label for model, model_admin in admin.site._registry.items()
        if model_admin.has_delete_permission(request)
    }  # fmt: skip
    assert deletable == set(ADMIN_DELETE_ALLOWED)


def _patterns(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def test_no_api_operation_and_no_page_deletes(client, therapist):
    client.force_login(therapist)  # the schema is for signed-in staff
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    methods = {method for path in schema.json()["paths"].values() for method in path}
    assert "delete" not in methods
    named_delete = [
        route for route, pattern in _patterns(get_resolver())
        if "delete" in (pattern.name or "") and not route.startswith("admin/")
    ]  # fmt: skip
    assert named_delete == []


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_hand_typed_delete_is_refused_on_every_clinical_table():
    if connection.vendor != "postgresql":
        pytest.skip("the DELETE triggers are PostgreSQL's (migration courses 0005); CI runs this on PostgreSQL")
    call_command("demo_practice", "--i-know-this-is-not-production", stdout=StringIO())
    tables = [m._meta.db_table for m in _clinical_models()]
    refused, empty = [], []
    for table in tables:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - table names from the models
            before = cursor.fetchone()[0]
        if not before:
            empty.append(table)
            continue
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        except DatabaseError as exc:
            assert "never deleted" in str(exc)
            refused.append(table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            assert cursor.fetchone()[0] == before, table
    assert empty == [], f"the demo practice left these empty, so the test proves nothing for them: {empty}"
    assert sorted(refused) == sorted(tables)
    assert AuditEvent.objects.exists()
