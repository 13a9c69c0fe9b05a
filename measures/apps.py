from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "measures"

    def ready(self):
        # The one upward hook (courses/hooks.py). Every course event re-plans the course's
        # questionnaire schedule, synchronously, inside the course service's transaction; and
        # measures adds to the course record without courses importing it: the baseline the first
        # dose waits for, and the questionnaire and safety-alert sections of the caseload, today,
        # dashboard, course and dose pages.
        from courses import hooks
        from measures.baseline import open_baseline
        from measures.services.schedule import follow_course_change
        from measures.web import course_sections

        hooks.course_changed.connect(follow_course_change, dispatch_uid="measures.schedule_follows_course")
        hooks.register_open_baseline(open_baseline)
        for page, provider in course_sections.PAGES.items():
            hooks.register_page(page, provider)
