"""WSGI entry point: HTTP workers of the production shape (README, "How it runs")."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lodgetix.settings")

application = get_wsgi_application()
