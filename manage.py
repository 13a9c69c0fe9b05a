#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    """Run administrative tasks."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kapclinic.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads the settings now, to report a problem plainly
    except ImproperlyConfigured as exc:
        # Django would swallow this and fail later with "Models aren't loaded yet".
        sys.exit(
            f"kapclinic: {exc}\n"
            "For a local checkout run with DEBUG=1 (make run, make test and make migrations-check do);\n"
            "in production set SECRET_KEY and the other variables listed in README.md."
        )
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
