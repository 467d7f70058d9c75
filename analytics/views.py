"""The capture endpoint (docs/design.md §8). The view translates HTTP to
services.capture and back."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import salted_hmac
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from analytics.services import capture
from analytics.services.capture import Batch, Sender
from analytics.services.exceptions import CaptureError, TooManyBatches
from common import ratelimit
from common.buyers import buyer_key_of
from common.client import client_address
from common.errors import error_json

RATE_WINDOW_SECONDS = 60


# The CSRF check runs in `_capture_checked`, after the body is read: a beacon cannot set
# headers, so its token travels in the body ("csrf_token"). Django's own middleware then
# checks it (and the Origin header) exactly as it checks a form.
@csrf_exempt
@require_POST
def capture_events(request: HttpRequest) -> HttpResponse:
    # This view never starts a session: a session started by a background request can
    # race the one the hold form starts, and the buyer would lose their registration.
    # Loading an existing one validates its cookie, so a made-up key counts for nothing.
    buyer_key = buyer_key_of(request.session)
    sender = capture.sender(
        session_key=request.session.session_key,
        csrf_cookie=request.COOKIES.get(settings.CSRF_COOKIE_NAME),
        user_id=request.user.pk if request.user.is_authenticated else None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        buyer_key=buyer_key,
    )
    # Per address first, before reading anything: every other key is the client's to
    # pick, and an address's bucket is what a client minting fresh cookies runs into.
    address = client_address(request)
    refusal = _too_many(f"analytics:ip:{address}", settings.ANALYTICS_BATCHES_PER_MINUTE_PER_IP)
    if refusal is not None:
        return refusal
    try:
        body = capture.read_body(request, request.META.get("CONTENT_LENGTH"))
        batch = capture.parse_batch(body)
    except CaptureError as refusal:
        return error_json(refusal)
    if batch.csrf_token and settings.CSRF_HEADER_NAME not in request.META:
        request.META[settings.CSRF_HEADER_NAME] = batch.csrf_token
    return _capture_checked(request, batch, sender)


@csrf_protect
def _capture_checked(request: HttpRequest, batch: Batch, sender: Sender) -> HttpResponse:
    # Per browser: the CSRF secret Django has just checked the token against (unmasked,
    # in META["CSRF_COOKIE"]), with the address - not the session or visitor cookie, which
    # the client may send made up. Hashed, so no secret is kept in the limiter's store.
    secret = request.META.get("CSRF_COOKIE", "")
    browser = salted_hmac("lodgetix.analytics.rate", f"{client_address(request)} {secret}")
    refusal = _too_many(
        f"analytics:browser:{browser.hexdigest()[:32]}", settings.ANALYTICS_BATCHES_PER_MINUTE
    )
    if refusal is not None:
        return refusal
    return JsonResponse(capture.capture_batch(batch, sender).as_json(), status=202)


def _too_many(key: str, per_minute: int) -> HttpResponse | None:
    """Count one batch against `key`; the 429 answer once it is past `per_minute`."""
    limit = ratelimit.hit(key, limit=per_minute, window=RATE_WINDOW_SECONDS)
    return None if limit.allowed else error_json(TooManyBatches(limit.retry_after))
