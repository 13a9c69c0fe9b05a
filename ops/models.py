from django.db import models


class Component(models.TextChoices):
    BEAT = "beat", "scheduler (Celery beat)"
    WORKER = "worker", "worker (Celery)"


class Heartbeat(models.Model):
    """One row per component: when it last showed it was alive. Holds no patient data."""

    component = models.CharField(max_length=16, primary_key=True, choices=Component.choices)
    last_at = models.DateTimeField()

    def __str__(self):
        return f"{self.component} at {self.last_at:%Y-%m-%d %H:%M:%S}"
