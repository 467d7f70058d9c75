"""The site's own error pages: 404, 403 and the hold 429 (templates built on
friendly_error.html), each with a way back."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import override_settings
from django.urls import include, path

from tests.support.factories import make_event, make_function, make_ticket_type
from tests.support.http import body_of, post_hold

pytestmark = pytest.mark.django_db


def forbidden(request):
    raise PermissionDenied


# A URLconf for the 403 test: the site's own, plus a view that refuses.
urlpatterns = [path("forbidden/", forbidden), path("", include("lodgetix.urls"))]


def test_an_unknown_page_is_the_branded_404(client):
    body = body_of(client.get("/no-such-page/"), 404)
    assert 'id="not-found"' in body
    assert '<main id="main">' in body
    assert 'href="/" id="error-back"' in body


@override_settings(ROOT_URLCONF=__name__)
def test_a_refusal_is_the_branded_403(client):
    response = client.get("/forbidden/")
    assert response.status_code == 403
    assert 'id="forbidden"' in response.content.decode()


def test_the_hold_429_is_a_page_with_a_way_back_and_retry_after(client, settings):
    settings.HOLD_RATE_LIMIT_PER_BUYER = (1, 60)
    settings.HOLD_RATE_LIMIT_PER_IP = None
    ticket_type = make_ticket_type(make_event(make_function()), capacity=50)
    function = ticket_type.event.function
    client.get(function.get_absolute_url())
    assert post_hold(client, ticket_type, 1).status_code == 303
    response = post_hold(client, ticket_type, 1)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert f'href="{function.get_absolute_url()}" id="error-back"' in body
    assert 'id="retry-after"' in body
