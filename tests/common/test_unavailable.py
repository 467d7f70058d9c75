"""Django's own error pages with DEBUG off: the friendly 500, and 503 "try again" when the
database is away (common/unavailable.py). A real database outage is in test_health.py."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import path

from common.unavailable import database_unavailable
from lodgetix.urls import urlpatterns as site_urls
from tests.support.http import body_of


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", boom), *site_urls]
handler500 = "common.unavailable.server_error"


@pytest.fixture
def client_seeing_errors(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    return Client(raise_request_exception=False)


def test_a_bug_answers_the_friendly_500_page(client_seeing_errors):
    response = client_seeing_errors.get("/boom/")
    body = body_of(response, 500)
    assert 'id="try-again"' in body
    assert 'data-status="500"' in body
    assert "LodgeTix" in body
    assert "RuntimeError" not in body
    assert "Retry-After" not in response


def test_a_bug_answers_json_to_the_api(client_seeing_errors):
    response = client_seeing_errors.get("/boom/", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"


def test_the_pages_need_no_static_files_or_request_context():
    from django.template import loader

    for name in ("500.html", "503.html", "502.html"):
        html = loader.get_template(name).render({})
        assert "<style>" in html
        assert "/static/" not in html


def test_database_errors_and_their_causes_are_recognised():
    from psycopg_pool import PoolTimeout

    wrapped = OperationalError("couldn't get a connection")
    wrapped.__cause__ = PoolTimeout("couldn't get a connection after 10.00 sec")
    assert database_unavailable(wrapped)
    assert database_unavailable(PoolTimeout("x"))
    assert not database_unavailable(RuntimeError("a bug"))
    assert not database_unavailable(None)
