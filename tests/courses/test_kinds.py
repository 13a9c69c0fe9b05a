"""The record-kind registry is complete: every kind is known to every interface that serves it.

Adding a kind of record means a model and one `RecordKind`; these tests name what else it needs
(a serializer, its lifecycle rules, a page) and fail until it has them.
"""

import pytest
from django.urls import resolve

from courses import kinds, selectors
from courses.api.views.records import PATCHABLE_RECORD_TYPES, RECORD_OUTPUTS, RECORD_SERIALIZERS
from courses.models import SignableRecord
from courses.web.forms.records import EDITED_ON_OWN_PAGE, edited_here
from tests.test_authorization_matrix import world as world  # noqa: F401  (the fixture)


def test_slugs_and_models_are_unique():
    assert len({k.slug for k in kinds.KINDS}) == len(kinds.KINDS)
    assert len({k.model for k in kinds.KINDS}) == len(kinds.KINDS)
    for kind in kinds.KINDS:
        assert kinds.by_slug(kind.slug) is kind
        assert kinds.of(kind.model) is kind


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.slug)
def test_fields_are_the_models_own(kind):
    concrete = {f.name for f in kind.model._meta.get_fields() if getattr(f, "concrete", False)}
    assert set(kind.amendable) <= concrete
    # An edit before signing never reaches a field a correction could not.
    assert set(kind.editable) <= set(kind.amendable)
    # A kind is edited in place, or says where it changes instead: never both, never neither
    # (unless it is neither edited nor amended, like a patient or a course).
    assert not (kind.editable and kind.edited_elsewhere)
    if kind.always_amended:
        assert kind.amendable and not kind.editable


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.slug)
def test_every_interface_knows_the_kind(kind):
    assert kind.slug in RECORD_SERIALIZERS
    assert (kind.slug in PATCHABLE_RECORD_TYPES) == (not kind.edited_elsewhere)
    assert edited_here(kind) == (bool(kind.editable) and kind.slug not in EDITED_ON_OWN_PAGE)
    # Lifecycle rules: registered by the services that own the kind.
    assert kind.void_permission is not None
    assert kind.amend_permission is not None
    assert kind.signable == issubclass(kind.model, SignableRecord)


def test_registry_has_nothing_unknown():
    assert set(RECORD_SERIALIZERS) == set(kinds.slugs())
    assert set(RECORD_OUTPUTS) <= set(kinds.slugs())
    assert set(kinds.slugs()) >= EDITED_ON_OWN_PAGE


@pytest.mark.django_db
def test_each_record_has_its_page_and_patients(world):
    for slug, record in world["records"].items():
        kind = kinds.of(record)
        assert kind.slug == slug == selectors.record_type_name(record)
        resolve(record.get_absolute_url())
        patients = selectors.record_patients(record)
        assert patients, slug
        single = selectors.record_patient(record)
        assert single is None or single in patients
