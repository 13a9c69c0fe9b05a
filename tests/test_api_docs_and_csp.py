"""Headers and docs (issue 13, finding 5).

- A Content-Security-Policy on every response: scripts and styles from this origin only, never
  inline; no template carries an inline script.
- Swagger UI is served from the app's own static files (drf-spectacular-sidecar), never a CDN.
- The schema and the docs are for signed-in staff unless API_DOCS_PUBLIC is true.
"""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TEMPLATES = Path(django_settings.BASE_DIR) / "templates"


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in header.split(";")) if d}


@pytest.mark.parametrize("url", ["/login/", "/api/courses/", "/healthz", "/no-such-page/", "/api/docs/"])
def test_every_response_carries_the_policy_without_inline_script_or_style(client, url):
    policy = _policy(client.get(url))
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    header = " ".join(" ".join(v) for v in policy.values())
    assert "unsafe-inline" not in header and "unsafe-eval" not in header and "*" not in header


def test_signed_in_pages_carry_it_too(client, therapist, lead):
    for user, url in ((therapist, reverse("caseload")), (lead, reverse("lead-dashboard"))):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        assert _policy(response)["script-src"] == ["'self'"]


# <script> with a src, or a data block (json_script), is allowed; any other runs inline and the policy blocks it.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
# Inline handlers and style attributes: the policy blocks them as well. The PDF templates are
# drawn by WeasyPrint on the server, which reads no CSP, and are never served as HTML.
INLINE_ATTRIBUTE = re.compile(r"\s(?:on[a-z]+|style)\s*=", re.I)


def test_no_served_template_has_inline_script_handlers_or_styles():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if path.relative_to(TEMPLATES).parts[:2] == ("reports", "pdf"):
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, INLINE_ATTRIBUTE):
            offenders += [f"{path.relative_to(TEMPLATES)}: {m.group(0).strip()}" for m in pattern.finditer(text)]
        if "<style" in text:
            offenders.append(f"{path.relative_to(TEMPLATES)}: <style>")
    assert offenders == []


def test_the_inline_script_pattern_would_catch_one():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert INLINE_SCRIPT.search('<script type="module">x()</script>')
    assert not INLINE_SCRIPT.search('<script src="/static/js/session.js" defer></script>')
    assert not INLINE_SCRIPT.search('<script id="w" type="application/json">{}</script>')
    assert INLINE_ATTRIBUTE.search('<button onclick="go()">') and INLINE_ATTRIBUTE.search('<p style="x">')


def test_the_dose_weight_script_is_a_static_file(client, dose, provider):
    client.force_login(provider)
    page = client.get(reverse("dose-add", args=[dose.session.pk])).content.decode()
    assert 'src="/static/js/dose-weight.js"' in page
    assert not INLINE_SCRIPT.search(page)
    assert finders.find("js/dose-weight.js")


# --- the schema and Swagger UI ------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in_for_the_docs_and_refused_the_schema(client):
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/login/?next=/api/docs/")
    schema = client.get("/api/schema/")
    assert schema.status_code == 401 and schema["Content-Type"] == "application/json"
    assert set(json.loads(schema.content)) == {"detail", "errors"}
    assert b"openapi" not in schema.content


def test_a_staff_account_without_a_clinical_role_is_refused_both(client, outsider):
    client.force_login(outsider)
    assert client.get("/api/docs/").status_code == 403
    assert client.get("/api/schema/").status_code == 403


def test_staff_get_swagger_ui_from_the_app_itself(client, therapist):
    client.force_login(therapist)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for name in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        served = [a for a in assets if a.endswith(name)]
        assert served and served[0].startswith("/static/drf_spectacular_sidecar/"), (name, assets)
        assert finders.find(served[0].removeprefix("/static/"))
    assert "cdn" not in html.lower() and "unpkg" not in html and "@latest" not in html
    assert not INLINE_SCRIPT.search(html) and "<style" not in html
    # The start-up script is a separate request (no inline script), and points at the schema.
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")


def test_an_api_token_reads_the_schema(therapist):
    from accounts.tokens import token_issue

    _, key = token_issue(user=therapist)
    client = APIClient()
    response = client.get("/api/schema/", HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and "paths" in response.json()


def test_api_docs_public_opens_both_to_anyone(client, settings):
    settings.API_DOCS_PUBLIC = True
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["openapi"].startswith("3.")
