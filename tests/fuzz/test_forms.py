"""Every web form, found on the pages themselves, posted with hostile values field by field.

A POST may be accepted or refused, but never a 5xx; a refusal (400) shows a message, names the
limit when the value was too long, and leaves every stored row as it was. Each POST runs in a
savepoint that is rolled back, so the next one meets the same clinic.
"""

import time
import traceback
from collections import Counter
from urllib.parse import urlsplit

import pytest
from django.db import connection, transaction
from django.test import Client

from tests.fuzz.support import (
    BASELINE_TEXT,
    CHOICE_TYPES,
    EARLY,
    FULL,
    LATE,
    NUL,
    ORDERED_PAIRS,
    TEXT_TYPES,
    date_value,
    diff,
    fill_routes,
    hostile_values,
    parse_forms,
    route_patterns,
    snapshot,
)

WEB_URLS = ("courses.web.urls", "measures.web.urls", "reports.web.urls")
# Posting these ends the session or the page under test, or is fuzzed in its own file.
NOT_FUZZED_HERE = {"logout", "self-report"}
ROLE_ORDER = ("therapist", "provider", "lead")


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def discover(world, users, tally) -> tuple[list, dict]:
    """Fetch every page as each role; the forms on them, each once, with the first role that saw it."""
    paths, skipped = fill_routes(route_patterns(*WEB_URLS), world)
    forms, pages = {}, Counter()
    for role in ROLE_ORDER:
        client = _client(users[role])
        for path in paths:
            response = client.get(path)
            pages[response.status_code] += 1
            if response.status_code >= 500:
                tally.failures.append(f"GET {path} as {role}: {response.status_code} {_why(response)}")
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            for form in parse_forms(response.content.decode(), path, role):
                if form.url_name not in NOT_FUZZED_HERE:
                    forms.setdefault(form.key, form)
    # The login form, as someone not signed in.
    for form in parse_forms(_client(None).get("/login/").content.decode(), "/login/", "anonymous"):
        forms.setdefault(form.key, form)
    return list(forms.values()), {"pages": pages, "skipped routes": skipped, "paths": len(paths)}


def _send(client, form, data):
    if form.method == "get":
        return client.get(form.url, data)
    return client.post(form.url, data)


def _why(response) -> str:
    """The exception behind a 5xx, and where in the project it was raised."""
    exc_info = getattr(response, "exc_info", None)
    if not exc_info:
        return ""
    frames = traceback.extract_tb(exc_info[2])
    ours = [f for f in frames if "/.venv/" not in f.filename] or frames
    return f"{exc_info[0].__name__}: {str(exc_info[1])[:120]} at {ours[-1].filename}:{ours[-1].lineno}"


def _is_refusal_shown(text: str) -> bool:
    return 'class="errorlist' in text or 'class="alert alert-error"' in text


class Tally:
    def __init__(self):
        self.requests = 0
        self.statuses = Counter()
        self.failures: list[str] = []

    def check(self, client, form, data, label, *, before, must_refuse=False, limit=None, kept=None):
        """Send one variant in a rolled-back savepoint and hold the answer to the rules."""
        with transaction.atomic():
            response = _send(client, form, data)
            after = snapshot() if form.method == "post" and response.status_code == 400 else None
            transaction.set_rollback(True)
        self.requests += 1
        self.statuses[response.status_code] += 1
        where = f"{form.method.upper()} {form.url_name} ({form.role}) {label}"
        if response.status_code >= 500:
            self.failures.append(f"{where}: {response.status_code} {_why(response)}")
            return response
        if response.status_code in (301, 302, 303):
            location = response["Location"]
            # Every redirect stays on this site: no "//host", no "/\\host" (a browser reads it as "//host").
            if urlsplit(location).netloc or location.startswith(("//", "/\\")) or not location.startswith("/"):
                self.failures.append(f"{where}: redirects off the site to {location!r}")
        text = response.content.decode(errors="replace") if response.status_code in (200, 400) else ""
        # Refused: a 400 or 403, or a page answered 200 that shows the problem (a failed sign-in).
        refused = response.status_code in (400, 403) or (response.status_code == 200 and _is_refusal_shown(text))
        if must_refuse and not refused:
            self.failures.append(f"{where}: accepted ({response.status_code}), should be refused")
        if response.status_code == 400 and not _is_refusal_shown(text):
            self.failures.append(f"{where}: 400 without a message")
        if response.status_code == 400 and kept is not None and kept not in text:
            self.failures.append(f"{where}: the re-shown form lost what was typed in the other fields")
        # The sign-in page says only "not right": it tells a stranger nothing about the account.
        names_limit = form.url_name == "login" or f"at most {limit} characters" in text
        if refused and limit is not None and response.status_code != 403 and not names_limit:
            self.failures.append(f"{where}: the message does not name the limit {limit}")
        if after is not None and diff(before, after):
            self.failures.append(f"{where}: a refused POST changed {diff(before, after)}")
        return response


@pytest.fixture
def users(therapist, provider, lead):
    return {"therapist": therapist, "provider": provider, "lead": lead}


def test_every_form_survives_hostile_values_in_every_field(world, users, capsys):
    started = time.monotonic()
    tally = Tally()
    forms, crawl = discover(world, users, tally)
    # Every POST is rolled back, so the clinic before each one is the clinic now.
    before = snapshot()
    clients = {role: _client(users.get(role)) for role in (*ROLE_ORDER, "anonymous")}
    fields_fuzzed = 0
    for form in forms:
        form_started, form_requests = time.monotonic(), tally.requests
        client = clients[form.role]
        baseline = form.baseline()
        choice_kinds = set()
        tally.check(client, form, baseline, "as rendered", before=before)
        for f in form.fields.values():
            if f.name == "csrfmiddlewaretoken":
                continue
            if f.kind in CHOICE_TYPES and not FULL:
                # Twenty yes/no screen items are one kind of field: fuzz the first of each kind.
                kind = (f.kind, tuple(f.options))
                if kind in choice_kinds:
                    continue
                choice_kinds.add(kind)
            fields_fuzzed += 1
            for label, values in hostile_values(f):
                data = {**baseline, f.name: values}
                too_long = f.maxlength is not None and len(values[0]) > f.maxlength and f.kind in TEXT_TYPES
                # Text typed into another field of the form must be there again on the refused page.
                others = [n for n, v in baseline.items() if n != f.name and v == [BASELINE_TEXT]]
                tally.check(
                    client,
                    form,
                    data,
                    f"{f.name}={label}",
                    before=before,
                    kept=BASELINE_TEXT if others else None,
                    # A NUL byte has no place in text: Django's CharField refuses it before any service.
                    must_refuse=too_long or (values == [NUL] and f.kind in TEXT_TYPES),
                    limit=f.maxlength if too_long else None,
                )
        for first, second in ORDERED_PAIRS:
            if first in form.fields and second in form.fields:
                data = {
                    **baseline,
                    first: [date_value(form.fields[first], LATE)],
                    second: [date_value(form.fields[second], EARLY)],
                }
                tally.check(client, form, data, f"{second} before {first}", before=before, must_refuse=True)
        form.cost = (tally.requests - form_requests, time.monotonic() - form_started)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(
            f"\nform fuzz: {len(forms)} forms on {crawl['paths']} pages, {fields_fuzzed} fields, "
            f"{tally.requests} requests in {elapsed:.0f}s; statuses {dict(sorted(tally.statuses.items()))}; "
            f"5xx: {sum(n for s, n in tally.statuses.items() if s >= 500)}; "
            f"{'full' if FULL else 'quick'} run on {connection.vendor}; "
            f"routes without fixture objects: {crawl['skipped routes']}"
        )
        for form in forms:
            n, seconds = form.cost
            name = f"{form.method.upper():4} {form.url_name:28} {form.role:9}"
            print(f"  {name} {len(form.fields):3} fields {n:4} requests {seconds:5.1f}s")
    assert not tally.failures, "\n".join(tally.failures[:60]) + f"\n({len(tally.failures)} in all)"
