from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate, pre_migrate


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"

    def ready(self):
        from reports import data_version

        # Every connection's writes move the record's data version (a counted report stays current
        # until then). A connection opened before ready() (none in practice) is watched too.
        connection_created.connect(data_version.watch, dispatch_uid="reports.data_version")
        pre_migrate.connect(data_version.migrate_started, dispatch_uid="reports.data_version.pre")
        post_migrate.connect(data_version.migrate_ended, sender=self, dispatch_uid="reports.data_version.post")
        from django.db import connections

        for connection in connections.all(initialized_only=True):
            data_version.watch(None, connection)
        from reports.services import _code_version

        # The digest of the code a count was made by, read now, from the files this process
        # loaded: computed on first use, a process still running old code after a deploy had
        # replaced the files would label its counts with the new code's digest.
        _code_version()
