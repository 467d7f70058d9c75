"""Test helpers for the production shape (deployment/: supervisord, nginx, serve.py)."""

from __future__ import annotations

import pytest

from deployment import serve
from tests.conftest import REQUIRE_SERVICES


def require_nginx() -> None:
    """Skip without nginx - or fail, where every service must be there (CI)."""
    if serve.nginx_binary() is not None:
        return
    reason = f"missing service: nginx ({serve.NGINX_INSTALL_HINT})"
    if REQUIRE_SERVICES:
        pytest.fail(reason + " (LODGETIX_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)
