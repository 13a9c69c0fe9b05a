"""The WSGI application of the API benchmark: the product's settings and application, with the
URLconf that adds the yardstick (devtools/bench/urls.py).

gunicorn loads this instead of kapclinic.wsgi; everything else (settings from the environment,
middleware, the gunicorn config) is the production server's. Django reads ROOT_URLCONF on every
request, so setting it once here, before the first request, is enough.
"""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kapclinic.settings")

application = get_wsgi_application()
settings.ROOT_URLCONF = "devtools.bench.urls"
