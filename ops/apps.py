from django.apps import AppConfig


class OpsConfig(AppConfig):
    """What an operator watches: the worker and beat heartbeats (ops/heartbeats.py)."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self):
        # Connects the beat-side heartbeat to Celery's publish signal, in every process that loads
        # Django; it records only in the beat process (see ops/heartbeats.py).
        from ops import heartbeats

        heartbeats.connect_signals()
