"""The self-report link is rate limited per client address and, for answers sent, per link.

Defaults: 30 requests per address and 10 POSTs per link in 10 minutes (kapclinic/settings.py).
The clock fixture stands at 15:00:00 UTC, the start of a 10-minute window, so the wait is exact.
"""

import datetime as dt
import logging
import os

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from courses.models import AuditEvent
from kernel import rate_limit
from measures import services
from measures.models import Response
from tests.measures.web_helpers import answers, link, open_administrations

pytestmark = pytest.mark.django_db

WINDOW = dt.timedelta(minutes=10)


@pytest.fixture
def administrations(course, clock):
    return open_administrations(course)


@pytest.fixture
def phq9(administrations):
    return administrations["phq9"]


def _spend(client, url, times, **extra):
    for n in range(times):
        response = client.get(url, **extra)
        assert response.status_code == 200, (n, response.status_code)


def test_the_31st_request_from_one_address_is_429_with_retry_after_and_a_wait_page(
    client, phq9, django_assert_max_num_queries
):
    url = link(phq9)
    _spend(client, url, 30, REMOTE_ADDR="198.51.100.10")
    opened = AuditEvent.objects.filter(detail="self-report link opened").count()
    with django_assert_max_num_queries(1):  # the clinic's name for the page; the link is not looked up
        response = client.get(url, REMOTE_ADDR="198.51.100.10")
    text = response.content.decode()
    assert response.status_code == 429
    assert response["Retry-After"] == "600"
    assert "Too many tries from this device. Please wait 10 minutes and open your link again." in text
    assert 'href="tel:988"' in text and 'href="tel:911"' in text  # the crisis help of every link page
    assert "Alice" not in text and "PHQ-9" not in text  # refused before the link is read
    assert response["Referrer-Policy"] == "no-referrer" and response["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(detail="self-report link opened").count() == opened


def test_the_wait_shrinks_as_the_window_runs_out(client, phq9, clock):
    url = link(phq9)
    clock.shift(dt.timedelta(minutes=9, seconds=30))
    _spend(client, url, 30)
    response = client.get(url)
    assert response.status_code == 429 and response["Retry-After"] == "30"
    assert "Please wait 1 minute and open" in response.content.decode()


def test_other_addresses_are_not_affected(client, phq9):
    url = link(phq9)
    _spend(client, url, 30, REMOTE_ADDR="198.51.100.10")
    assert client.get(url, REMOTE_ADDR="198.51.100.10").status_code == 429
    assert client.get(url, REMOTE_ADDR="198.51.100.11").status_code == 200
    assert client.post(url, answers(9, 1), REMOTE_ADDR="203.0.113.5").status_code == 200
    assert Response.objects.filter(administration=phq9).count() == 1


def test_after_the_window_the_link_works_again(client, phq9, clock):
    url = link(phq9)
    _spend(client, url, 30)
    assert client.get(url).status_code == 429
    clock.shift(WINDOW)
    assert client.get(url).status_code == 200
    assert client.post(url, answers(9, 1)).status_code == 200


def test_made_up_tokens_count_against_the_address_too(client, phq9):
    for n in range(30):
        assert client.get(f"/r/made-up-{n}/").status_code == 404
    assert client.get(link(phq9)).status_code == 429


def test_the_11th_post_to_one_link_is_429_from_any_address(client, phq9, administrations):
    url = link(phq9)
    incomplete = answers(8, 1)  # item 9 missing: refused, nothing stored, the link stays open
    for n in range(10):
        assert client.post(url, incomplete, REMOTE_ADDR=f"198.51.100.{n}").status_code == 400
    response = client.post(url, answers(9, 1), REMOTE_ADDR="203.0.113.99")
    assert response.status_code == 429 and response["Retry-After"] == "600"
    assert not Response.objects.filter(administration=phq9).exists()
    # Reading the link is not a POST, and another link has its own count.
    assert client.get(url, REMOTE_ADDR="203.0.113.99").status_code == 200
    assert client.post(link(administrations["gad7"]), answers(7, 1), REMOTE_ADDR="203.0.113.99").status_code == 200


def test_the_api_answers_429_in_its_error_shape_with_retry_after(phq9):
    url = f"/api/self-report/{services.self_report_token(phq9)}/"
    api = APIClient()
    for _ in range(30):
        assert api.get(url).status_code == 200
    response = api.get(url)
    assert response.status_code == 429
    assert response["Retry-After"] == "600"
    body = response.json()
    assert set(body) == {"detail", "errors"} and body["errors"] == {}
    assert body["detail"].startswith("Too many tries from this device. Please wait 10 minutes")
    assert "988" in body["detail"]
    assert "no-store" in response["Cache-Control"] and response["Referrer-Policy"] == "no-referrer"
    assert api.post(url, {"answers": {str(n): 1 for n in range(1, 10)}}, format="json").status_code == 429
    assert not Response.objects.exists()


def test_the_api_counts_posts_per_link(phq9):
    url = f"/api/self-report/{services.self_report_token(phq9)}/"
    for n in range(10):
        response = APIClient().post(url, {"answers": {"1": 1}}, format="json", REMOTE_ADDR=f"198.51.100.{n}")
        assert response.status_code == 400
    full = {str(n): 1 for n in range(1, 10)}
    assert APIClient().post(url, {"answers": full}, format="json", REMOTE_ADDR="203.0.113.1").status_code == 429


def test_the_page_and_the_api_share_one_count_per_address(client, phq9):
    token = services.self_report_token(phq9)
    _spend(client, f"/r/{token}/", 20)
    _spend(APIClient(), f"/api/self-report/{token}/", 10)
    assert client.get(f"/r/{token}/").status_code == 429
    assert APIClient().get(f"/api/self-report/{token}/").status_code == 429


def test_a_forwarded_for_the_client_wrote_itself_is_not_believed(client, phq9, settings):
    # Behind the proxy every request comes from the proxy's address; the proxy appends the client's.
    settings.TRUST_X_FORWARDED_FOR = True
    url = link(phq9)
    for n in range(30):
        forwarded = f"10.{n}.0.1, 198.51.100.10"  # a fresh made-up address on the left each time
        assert client.get(url, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded).status_code == 200
    assert client.get(url, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="10.99.0.1, 198.51.100.10").status_code == 429
    # Another patient behind the same proxy is counted apart.
    assert client.get(url, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.20").status_code == 200


def test_forwarded_for_is_ignored_unless_trusted(client, phq9, settings):
    settings.TRUST_X_FORWARDED_FOR = False
    url = link(phq9)
    for n in range(30):
        client.get(url, REMOTE_ADDR="198.51.100.10", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert client.get(url, REMOTE_ADDR="198.51.100.10", HTTP_X_FORWARDED_FOR="203.0.113.200").status_code == 429


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"REMOTE_ADDR": "198.51.100.7"}, "198.51.100.7"),
        ({"REMOTE_ADDR": "2001:db8:1:2:aaaa::1"}, "2001:db8:1:2::/64"),
        ({"REMOTE_ADDR": "::ffff:198.51.100.7"}, "198.51.100.7"),
        ({"REMOTE_ADDR": ""}, "unknown"),
    ],
)
def test_the_counted_address_groups_an_ipv6_subscriber_by_its_64(rf, meta, expected):
    assert rate_limit.client_address(rf.get("/r/x/", **meta)) == expected


def test_limits_are_settings_and_0_turns_one_off(client, phq9, settings):
    settings.SELF_REPORT_RATE_LIMIT_PER_ADDRESS = 3
    url = link(phq9)
    _spend(client, url, 3)
    assert client.get(url).status_code == 429
    settings.SELF_REPORT_RATE_LIMIT_PER_ADDRESS = 0
    _spend(client, url, 40)


def test_a_cache_outage_lets_the_patient_through_and_says_so_in_the_log(client, phq9, settings, caplog):
    # Nothing listens on port 1: every cache call fails at once.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    url = link(phq9)
    with caplog.at_level(logging.WARNING, logger="measures.rate_limit"):
        response = client.post(url, answers(9, 1))
    assert response.status_code == 200 and Response.objects.filter(administration=phq9).exists()
    assert "self-report rate limit not applied: cache unavailable" in caplog.text
    assert url.split("/")[2] not in caplog.text


def test_the_cache_keys_name_neither_the_token_nor_the_address(client, phq9, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl-keys"}}
    token = link(phq9).split("/")[2]
    client.post(f"/r/{token}/", answers(8, 1), REMOTE_ADDR="198.51.100.77")
    keys = list(cache._cache)  # LocMemCache's own store: what a Redis KEYS would list
    assert len(keys) == 2 and all("self-report-rate" in key for key in keys)
    assert not any(token in key or "198.51.100.77" in key for key in keys)


@pytest.mark.skipif(not (os.environ.get("REDIS_URL") or os.environ.get("CACHE_REDIS_URL")), reason="needs REDIS_URL")
def test_with_redis_the_count_lives_in_redis_for_every_worker(client, phq9, settings):
    """Run with REDIS_URL=redis://127.0.0.1:6379/13: the count is shared across processes."""
    import redis
    from asgiref.local import Local
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    first_client = caches["default"]
    assert isinstance(first_client, RedisCache)
    url = link(phq9)
    _spend(client, url, 15, REMOTE_ADDR="198.51.100.10")
    server = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = server.keys(f"{prefix}:*self-report-rate:address:*")
    assert len(keys) == 1 and int(server.get(keys[0])) == 15
    assert 0 < server.ttl(keys[0]) <= 601
    # A fresh client, as another gunicorn worker would hold, continues the same count.
    caches.close_all()
    caches._connections = Local()
    assert caches["default"] is not first_client
    _spend(client, url, 15, REMOTE_ADDR="198.51.100.10")
    assert int(server.get(keys[0])) == 30
    assert client.get(url, REMOTE_ADDR="198.51.100.10").status_code == 429
