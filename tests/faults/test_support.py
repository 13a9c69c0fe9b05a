"""The fault tests' own tools must not leak into the rest of the suite."""

from celery import current_app

from kapclinic.celery import app
from tests.faults.support import send_task


def test_queueing_from_a_sender_app_leaves_the_projects_app_current():
    # A Celery app made without set_as_current=False becomes current, and later .delay() calls of
    # shared tasks in the same process went through it: not eager, to a Redis the test had killed.
    send_task("redis://127.0.0.1:1/0", "measures.tasks.tick", times=0)
    assert current_app.main == app.main
