"""The test run's settings: lodgetix.settings, with what a test process needs from the
environment when nobody set it.

CI's services run sets DATABASE_URL, which turns DEBUG off, which needs a SECRET_KEY and
turns on HTTPS (secure cookies, the SSL redirect) - but the test client and the servers
the tests start speak plain HTTP on 127.0.0.1. Set here, before the settings are read, so
the servers the tests start inherit the same key and switch.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", "tests-" + secrets.token_urlsafe(40))
os.environ.setdefault("LODGETIX_HTTPS", "off")

from lodgetix.settings import *  # noqa: F403
