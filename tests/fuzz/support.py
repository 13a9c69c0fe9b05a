"""What the fuzz tests share: the forms read off the rendered pages, hostile values by field type,
and a snapshot of every stored row to prove a refused POST changed nothing.

The forms are discovered, not listed by hand: every staff page of courses.web, measures.web and
reports.web is fetched as each role, and each <form> on it is parsed (names, input types,
maxlength, choices, the values the page filled in). A form added later is fuzzed without anyone
remembering to add it here.
"""

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from itertools import product
from urllib.parse import urlsplit

from django.apps import apps
from django.urls import URLPattern, URLResolver, resolve
from django.urls.exceptions import Resolver404

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
UNICODE = "\u202eevil\u202c \U0001f600\u200b\u200d Zoë 名前 \u0645\u0631\u062d\u0628\u0627 e\u0301"
NUL = "a\x00b"
BASELINE_TEXT = "Zz fuzz baseline"

TEXT_TYPES = {"text", "textarea", "email", "password", "search", "tel", "url"}
CHOICE_TYPES = {"select", "radio", "checkbox"}


@dataclass
class Field:
    name: str
    kind: str  # an input type, "textarea" or "select"
    maxlength: int | None = None
    options: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)  # what the page filled in (several for checkboxes)
    multiple: bool = False


@dataclass
class Form:
    url: str  # path, with any query string the action carried
    method: str
    url_name: str
    fields: dict[str, Field]
    found_on: str
    role: str

    def baseline(self) -> dict[str, list[str]]:
        """The form as the page rendered it, as a browser would post it untouched."""
        data = {}
        for f in self.fields.values():
            if f.name == "csrfmiddlewaretoken":
                continue
            if f.values:
                data[f.name] = list(f.values)
            elif f.kind == "select" and f.options and not f.multiple:
                data[f.name] = [f.options[0]]
            elif f.kind in ("checkbox", "radio"):
                continue  # nothing ticked: a browser sends nothing
            elif f.kind in ("text", "textarea"):
                # Required reasons and notes filled in, so a POST gets past them to the field under test.
                data[f.name] = [BASELINE_TEXT]
            elif f.kind == "email":
                data[f.name] = ["zz-fuzz@example.invalid"]
            else:
                data[f.name] = [""]
        return data

    @property
    def key(self) -> tuple:
        return (self.method, self.url_name, tuple(sorted(self.fields)))


class FormParser(HTMLParser):
    """Every <form> of a page with its fields, in the order the page shows them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._option = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(), "fields": {}}
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        fields = self._form["fields"]
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "image", "file"):
                return
            f = fields.setdefault(name, Field(name=name, kind=kind))
            if a.get("maxlength"):
                f.maxlength = int(a["maxlength"])
            value = a.get("value", "on" if kind in ("checkbox", "radio") else "")
            if kind in ("checkbox", "radio"):
                f.options.append(value)
                f.multiple = kind == "checkbox"
                if "checked" in a:
                    f.values.append(value)
            else:
                f.values = [value]
        elif tag == "button" and name:
            # A named submit button is a field: the browser sends the one that was pressed.
            f = fields.setdefault(name, Field(name=name, kind="submit"))
            f.options.append(a.get("value", ""))
            f.values = f.values or [f.options[0]]
        elif tag == "textarea" and name:
            f = fields.setdefault(name, Field(name=name, kind="textarea"))
            if a.get("maxlength"):
                f.maxlength = int(a["maxlength"])
            f.values = [""]
            self._textarea = f
        elif tag == "select" and name:
            self._select = fields.setdefault(name, Field(name=name, kind="select", multiple="multiple" in a))
        elif tag == "option" and self._select is not None:
            self._option = a.get("value")
            self._select.options.append(self._option if self._option is not None else "")
            if "selected" in a:
                self._select.values.append(self._select.options[-1])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            # Django starts a textarea's content with a newline that the browser drops.
            self._textarea.values = [self._textarea.values[0] + data.removeprefix("\n")]


def parse_forms(html: str, page: str, role: str) -> list[Form]:
    parser = FormParser()
    parser.feed(html)
    forms = []
    for raw in parser.forms:
        target = raw["action"] or page
        path = urlsplit(target).path
        try:
            match = resolve(path)
        except Resolver404:
            continue
        query = urlsplit(target).query
        url = path + (f"?{query}" if query else "")
        forms.append(Form(url, raw["method"], match.url_name, raw["fields"], page, role))
    return forms


# --- the pages ---------------------------------------------------------------------------------

_CONVERTER = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")


def route_patterns(*modules) -> list[tuple[str, str]]:
    """(route, name) of every URL of the given urls modules, in order."""
    out = []

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                out.append((prefix + str(p.pattern), p.name))

    for module in modules:
        walk(__import__(module, fromlist=["urlpatterns"]).urlpatterns)
    return out


def fill_routes(routes, values: dict[str, list]) -> tuple[list[str], list[str]]:
    """Every route with each of its placeholders filled from `values` (all combinations);
    the names of routes that could not be filled are returned beside."""
    paths, skipped = [], []
    for route, name in routes:
        names = [m.group("name") for m in _CONVERTER.finditer(route)]
        if tuple(names) in values:
            combos = values[tuple(names)]
        elif all(n in values for n in names):
            combos = product(*(values[n] for n in names))
        else:
            skipped.append(name)
            continue
        for combo in combos:
            path = route
            for n, v in zip(names, combo, strict=True):
                path = _CONVERTER.sub(lambda m, n=n, v=v: str(v) if m.group("name") == n else m.group(0), path, 1)
            paths.append("/" + path)
    return paths, skipped


# --- hostile values ------------------------------------------------------------------------------


def text_values(f: Field) -> list[tuple[str, str]]:
    over = [("maxlength+1", "x" * (f.maxlength + 1))] if f.maxlength else []
    if not FULL:
        return [*over, ("100k chars", "y" * 100_000), ("NUL byte", NUL), ("script and unicode", SCRIPT + UNICODE)]
    return [*over, ("100k chars", "y" * 100_000), ("script", SCRIPT), ("unicode", UNICODE), ("NUL byte", NUL)]


# The quick run keeps one value per way a field can break (conversion, range, database type);
# FUZZ_FULL=1 sends them all.
FULL = os.environ.get("FUZZ_FULL") == "1"
NUMBER_VALUES = [
    ("huge int", "99999999999999999999"),
    ("1e309", "1e309"),
    ("30-digit decimal", "1.00000000000000000000000000001"),
    *[("letters", "abc"), ("NaN", "NaN"), ("-0", "-0"), ("negative", "-1"), ("NUL byte", "1\x00")] * FULL,
]
DATE_VALUES = [
    ("30 February", "2026-02-30"),
    ("year 9999", "9999-12-31"),
    *[("year 0", "0000-01-01"), ("year 1", "0001-01-01"), ("letters", "abc"), ("NUL byte", "2026-03-10\x00")] * FULL,
]
DATETIME_VALUES = [
    ("30 February", "2026-02-30T10:00"),
    ("year 9999", "9999-12-31T23:59"),
    *[("year 0", "0000-01-01T00:00"), ("year 1", "0001-01-01T00:00"), ("hour 25", "2026-03-10T25:00")] * FULL,
]
CHOICE_VALUES = [
    ("unknown choice", "not-a-choice"),
    ("huge int", "99999999999999999999"),
    *[("negative id", "-1"), ("NUL byte", "\x00"), ("100k chars", "z" * 100_000)] * FULL,
]
HIDDEN_VALUES = [
    ("NUL byte", NUL),
    ("other site", "//evil.example/"),
    ("other site by backslash", "/\\evil.example/"),
    ("control character", "/worklist/\r\nX-Evil: 1"),
    *[("100k chars", "h" * 100_000)] * FULL,
]


def hostile_values(f: Field) -> list[tuple[str, list[str]]]:
    """(label, values to post) for one field; each replaces the field's baseline value."""
    if f.kind in TEXT_TYPES:
        single = text_values(f)
    elif f.kind == "number":
        single = NUMBER_VALUES
    elif f.kind == "date":
        single = DATE_VALUES
    elif f.kind == "datetime-local":
        single = DATETIME_VALUES
    elif f.kind in CHOICE_TYPES or f.kind == "submit":
        single = CHOICE_VALUES
    elif f.kind == "hidden":
        single = HIDDEN_VALUES
    else:
        single = text_values(f)
    out = [(label, [value]) for label, value in single]
    if f.kind in TEXT_TYPES and FULL:
        # The same key twice with disagreeing values (Django takes the last of a single-valued field).
        out.append(("duplicated key", [*(f.values or [""]), SCRIPT]))
    return out


# Pairs of fields that must be in order; an inverted pair must be refused with a message.
ORDERED_PAIRS = [
    ("starts_at", "ends_at"),
    ("onset_at", "resolved_at"),
    ("open_from", "missed_after"),
    ("open_from", "due_by"),
    ("start_from", "start_to"),
]
EARLY, LATE = dt.date(2026, 3, 1), dt.date(2026, 3, 20)


def date_value(f: Field, day: dt.date) -> str:
    return day.isoformat() + ("T10:00" if f.kind == "datetime-local" else "")


# --- the stored rows ------------------------------------------------------------------------------

# Rows that a refused POST may legitimately add or touch: the audit of the page view it re-showed.
UNSNAPSHOTTED = {"courses.auditevent"}
UNSNAPSHOTTED_FIELDS = {"last_login"}


def snapshot() -> dict:
    """Every row of the project's apps (the audit trail aside), field by field."""
    state = {}
    for app in ("accounts", "courses", "measures", "reports"):
        for model in apps.get_app_config(app).get_models():
            label = model._meta.label_lower
            if label in UNSNAPSHOTTED:
                continue
            names = [f.attname for f in model._meta.concrete_fields if f.attname not in UNSNAPSHOTTED_FIELDS]
            state[label] = list(model._base_manager.order_by("pk").values_list(*names))
            for m2m in model._meta.many_to_many:
                through = m2m.remote_field.through
                state[through._meta.label_lower] = list(through.objects.order_by("pk").values_list())
    return state


def diff(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after.get(label)]
