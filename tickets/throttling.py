"""Rate limits on the hold path: a runaway client gets 429, not a share of the rush.

A buyer with a session is counted by its buyer key; a request without one (a first hold,
or a client that drops cookies to dodge its count) by its address. The address bucket is
the larger one, because a lodge hall or an office shares one address (NAT).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from common import ratelimit
from common.buyers import buyer_key_of
from common.client import client_address
from common.ratelimit import RateLimit
from tickets.services.exceptions import TooManyHolds

UNLIMITED = RateLimit(allowed=True, retry_after=0)


def hold_rate_limit(request: HttpRequest) -> RateLimit:
    """Count one hold attempt of this buyer (or address) against its limit."""
    buyer_key = buyer_key_of(request.session)
    if buyer_key is not None:
        limit, key = settings.HOLD_RATE_LIMIT_PER_BUYER, f"holds:buyer:{buyer_key}"
    else:
        limit, key = settings.HOLD_RATE_LIMIT_PER_IP, f"holds:ip:{client_address(request)}"
    if limit is None:
        return UNLIMITED
    count, window = limit
    return ratelimit.hit(key, limit=count, window=window)


def check_hold_rate(request: HttpRequest) -> None:
    """Count one hold attempt; past the limit, refuse it with TooManyHolds (429)."""
    limit = hold_rate_limit(request)
    if not limit.allowed:
        raise TooManyHolds(limit.retry_after)
