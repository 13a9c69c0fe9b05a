"""The Celery app. Workers and the one beat read their settings from Django's (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kapclinic.settings")

app = Celery("kapclinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
