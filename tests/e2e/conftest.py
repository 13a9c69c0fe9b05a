"""A real Chromium (Debian's, at /usr/bin/chromium) driving the app served by pytest-django's live server.

Without the browser the tests skip with one plain reason, unless KAPCLINIC_REQUIRE_BROWSER=1 (CI),
where a missing browser is a failure. A failed test leaves a screenshot of each of its pages in
test-artifacts/.
"""

import os
import re
from pathlib import Path

import pytest

# Debian's package; KAPCLINIC_CHROMIUM points elsewhere (Playwright's own browser download is not used).
CHROMIUM = Path(os.environ.get("KAPCLINIC_CHROMIUM") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING = f"Chromium not found at {CHROMIUM}: browser tests skipped"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 15_000
TABLET = {"viewport": {"width": 1180, "height": 820}}


def _browser_required() -> bool:
    return os.environ.get("KAPCLINIC_REQUIRE_BROWSER", "") not in ("", "0")


@pytest.fixture(scope="session")
def browser(django_db_setup):
    if not CHROMIUM.exists():
        if _browser_required():
            pytest.fail(f"{MISSING} — but KAPCLINIC_REQUIRE_BROWSER is set, so this is a failure.", pytrace=False)
        pytest.skip(MISSING)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    # Playwright's sync API keeps an asyncio loop running on this thread, which Django's async-safety
    # check takes for async code calling the ORM; the tests' own ORM calls are plain synchronous ones.
    # (The test databases are made before, and dropped after, the browser: see django_db_setup above.)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


@pytest.fixture
def open_page(request, browser, live_server):
    """open_page(**context_options): a page in a fresh browser context (its own cookies) on the live server."""
    contexts = []

    def _open(**options):
        context = browser.new_context(base_url=live_server.url, **{**TABLET, **options})
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield _open
    if getattr(request.node, "e2e_failed", False):
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{name}-{i}-{j}.png"), full_page=True)
                except Exception as exc:  # a crashed page must not hide the test's own failure
                    print(f"no screenshot of {page.url}: {exc}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page):
    return open_page()
