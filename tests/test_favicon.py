"""The clinic's mark in the browser tab: named by every page's head, and answered at /favicon.ico
for the pages that name none (a PDF, the JSON API)."""

from pathlib import Path

import pytest
from django.conf import settings

ICON = "/static/img/favicon.svg"


def test_the_icon_is_a_small_svg_in_the_static_files():
    icon = Path(settings.BASE_DIR) / "static" / "img" / "favicon.svg"
    text = icon.read_text(encoding="utf-8")
    assert text.startswith("<svg") and "<script" not in text and len(text) < 2_000


@pytest.mark.django_db
def test_favicon_ico_redirects_to_it_for_anyone_and_refuses_a_post(client):
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (302, ICON)
    assert client.post("/favicon.ico").status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/r/not-a-real-link/"])
def test_the_staff_and_the_patient_pages_name_it(client, path):
    page = client.get(path).content.decode()
    assert f'<link rel="icon" href="{ICON}" type="image/svg+xml">' in page
