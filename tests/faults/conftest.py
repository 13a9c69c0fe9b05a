import pytest

from tests.faults.support import Mailbox, RedisServer, SmtpServer, Worker, started_processes


@pytest.fixture
def redis_server(postgresql, tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.proc is not None:
        server.resume()  # a paused server ignores SIGTERM until continued; SIGKILL does not care
    server.kill()


@pytest.fixture
def mailbox():
    return Mailbox()


@pytest.fixture
def smtp(mailbox):
    server = SmtpServer(mailbox)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workers(redis_server, smtp, tmp_path):
    """Start workers with `workers(**env)`; every one is stopped at teardown, killed if need be."""
    yield from started_processes(Worker, redis_server, smtp, tmp_path)


@pytest.fixture
def web_on_redis(settings, redis_server):
    """Point this process (the web app) at our Redis for the broker and the cache, as
    REDIS_URL does in production."""
    from kapclinic.celery import app

    settings.CELERY_BROKER_URL = redis_server.url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = dict(settings.REDIS_BROKER_TRANSPORT_OPTIONS)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    changed = ("broker_url", "broker_transport_options", "broker_connection_timeout", "task_publish_retry_policy")
    saved = {k: app.conf[k] for k in changed}
    app.conf.update(
        task_always_eager=False,
        broker_url=redis_server.url,
        broker_transport_options=dict(settings.REDIS_BROKER_TRANSPORT_OPTIONS),
        broker_connection_timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT,
        task_publish_retry_policy=settings.CELERY_TASK_PUBLISH_RETRY_POLICY,
    )
    app._pool = None
    app.amqp._producer_pool = None
    yield app
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    app.conf.update(saved)


@pytest.fixture(autouse=True)
def _fresh_broker_pools():
    """Leave no closed connection pool behind for the rest of the process.

    Killing a broker under the project's Celery app closes kombu's process-wide pools, and those
    are shared by every later .delay() in this pytest worker (eager tasks still take a producer
    from them): a browser test run after the Redis-down test once lost its serious-event mail
    to 'Acquire on closed pool'."""
    yield
    from kombu import pools

    from kapclinic.celery import app

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
