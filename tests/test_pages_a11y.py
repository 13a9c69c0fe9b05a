"""Every staff page and the patient's self-report page: each form field has a label, each page has
one <h1> and a <main>. Pages are found by following links from each role's start page in the demo
practice, as a person clicking through would find them."""

import re
from html.parser import HTMLParser
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from accounts.models import User
from measures import services as measure_services
from measures.models import Administration, AdministrationStatus

ROLES = ["provider1", "therapist1", "lead"]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Links that are not pages of this UI (or change state on GET in no view, but are files or admin).
NOT_PAGES = ("/logout", "/admin", "/api", "/download", "/static", "/r/", "/healthz")
PER_PATTERN = 3  # follow a few instances of each URL shape, to reach records in every state
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class PageParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.h1 = 0
        self.main = 0
        self.label_for = set()
        self.fields = []  # (tag, attrs, inside a <label>)
        self.links = []
        self._label_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "h1":
            self.h1 += 1
        elif tag == "main":
            self.main += 1
        elif tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag in ("input", "select", "textarea"):
            self.fields.append((tag, a, self._label_depth > 0))

    def handle_endtag(self, tag):
        if tag == "label" and self._label_depth:
            self._label_depth -= 1

    def unlabelled(self):
        missing = []
        for tag, a, wrapped in self.fields:
            if tag == "input" and a.get("type", "text") in UNLABELLED_TYPES:
                continue
            if wrapped or a.get("aria-label") or a.get("aria-labelledby") or a.get("id") in self.label_for:
                continue
            missing.append(f"<{tag} name={a.get('name')!r} id={a.get('id')!r}>")
        return missing


def check(html: str) -> tuple[PageParser, list[str]]:
    page = PageParser()
    page.feed(html)
    problems = [f"unlabelled field {f}" for f in page.unlabelled()]
    if page.h1 != 1:
        problems.append(f"{page.h1} <h1> elements")
    if page.main != 1:
        problems.append(f"{page.main} <main> elements")
    return page, problems


def shape(path: str) -> str:
    return re.sub(r"/\d+/", "/N/", UUID.sub("X", path.split("?")[0]))


@pytest.mark.parametrize(
    "html, problems",
    [
        ('<main><h1>A</h1><label for="x">X</label><input id="x" name="x"></main>', []),
        ('<main><h1>A</h1><label><input type="checkbox" name="c"> C</label></main>', []),
        ('<main><h1>A</h1><input name="q" aria-label="Search"><input type="hidden" name="t"></main>', []),
        ('<main><h1>A</h1><select name="s" id="s"></select></main>', ["unlabelled field <select name='s' id='s'>"]),
        ("<main><h1>A</h1><h1>B</h1></main>", ["2 <h1> elements"]),
        ("<div><h1>A</h1></div>", ["0 <main> elements"]),
    ],
)
def test_the_check_finds_what_it_should(html, problems):
    assert check(html)[1] == problems


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo practice with its due questionnaires opened, built once, rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("demo_practice", "--i-know-this-is-not-production", stdout=StringIO())
        measure_services.administrations_open_due()
        yield
        transaction.set_rollback(True)


def crawl(client: Client, start: str) -> tuple[int, dict[str, list[str]]]:
    """Pages read, and problems by page, for every page reachable from `start` (a few of each URL shape)."""
    seen_urls, per_shape, problems = set(), {}, {}
    queue = [start]
    while queue:
        url = queue.pop(0)
        if url in seen_urls or per_shape.get(shape(url), 0) >= PER_PATTERN:
            continue
        seen_urls.add(url)
        per_shape[shape(url)] = per_shape.get(shape(url), 0) + 1
        response = client.get(url, follow=True)  # '/' redirects to the role's start page
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        page, found = check(response.content.decode())
        if found:
            problems[url] = found
        for href in page.links:
            href = href.split("#")[0]
            if href.startswith("/") and not any(part in href for part in NOT_PAGES):
                queue.append(href)
    return len(seen_urls), problems


@pytest.mark.django_db
@pytest.mark.parametrize("username", ROLES)
def test_every_page_a_role_reaches_has_labels_one_h1_and_a_main(demo, username):
    client = Client()
    client.force_login(User.objects.get(username=username))
    pages, problems = crawl(client, "/")
    assert pages >= 40  # the crawl really went through the UI
    assert problems == {}


@pytest.mark.django_db
def test_the_sign_in_page_has_labels_one_h1_and_a_main(demo):
    assert check(Client().get("/login/").content.decode())[1] == []


@pytest.mark.django_db
def test_the_patients_self_report_page_has_labels_one_h1_and_a_main(demo):
    administration = Administration.objects.filter(status=AdministrationStatus.OPEN).first()
    client = Client()
    url = f"/r/{measure_services.self_report_token(administration)}/"
    assert check(client.get(url).content.decode())[1] == []
    # With the missing-answer message too.
    assert check(client.post(url, {}).content.decode())[1] == []
