"""Shared set-up of the reports web and PDF tests: a small cohort, and reading a PDF's text."""

import datetime as dt
import html
import re
import shutil
import subprocess

import pytest

from courses.choices import Indication
from tests.reports.db_builders import Cast, Plan, build_course

LAST_DOSE = 18


def plan(opened_on, baseline, end, **values) -> Plan:
    return Plan(opened_on=opened_on, scores={5: {"phq9": baseline}, LAST_DOSE + 3: {"phq9": end}}, **values)


def small_cohort(cast: Cast) -> dict:
    """Three finished courses on PHQ-9: two PTSD (one responder), one depression (a responder)."""
    return {
        "ptsd_responder": build_course(cast, plan(dt.date(2025, 6, 2), 20, 8, indication=Indication.PTSD)),
        "ptsd_other": build_course(cast, plan(dt.date(2025, 6, 9), 18, 12, indication=Indication.PTSD)),
        "mdd": build_course(cast, plan(dt.date(2025, 6, 16), 16, 6, indication=Indication.MDD_TRD)),
    }


def text_of(content: bytes) -> str:
    """A page's text without tags and with whitespace collapsed, for phrases split by markup."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content.decode())).split())


def pdf_text(content: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: .ci/run installs it")
    path = tmp_path / "file.pdf"
    path.write_bytes(content)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True)
    return out.stdout
