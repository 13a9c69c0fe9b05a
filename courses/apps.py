from django.apps import AppConfig


class CoursesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "courses"

    def ready(self):
        # accounts sits below courses and never imports it: it writes the audit trail and reads the
        # clinic's name through accounts.ports, plugged in here.
        from accounts import ports
        from courses.audit import audit

        ports.provide(audit=audit, clinic_name=_clinic_name)


def _clinic_name() -> str:
    from courses.models import ClinicSettings

    return ClinicSettings.load().clinic_name
