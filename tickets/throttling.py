"""Rate limits on the hold path: a runaway client gets 429, not a share of the rush.

Every hold counts against its client address; one with a session counts against its
buyer key too. The address bucket counts every hold, not only first ones, because a
session costs nothing to make: a script that takes a fresh session per hold would
otherwise never be counted. It is the larger bucket, because a lodge hall or an office
shares one address (NAT).
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
    """Count one hold attempt against its address and, with a session, its buyer: both
    in one Redis round trip (common.ratelimit.hit_many)."""
    buckets = [(settings.HOLD_RATE_LIMIT_PER_IP, f"holds:ip:{client_address(request)}")]
    buyer_key = buyer_key_of(request.session)
    if buyer_key is not None:
        buckets.append((settings.HOLD_RATE_LIMIT_PER_BUYER, f"holds:buyer:{buyer_key}"))
    counted = [(key, *limit) for limit, key in buckets if limit is not None]
    refused = [limit for limit in ratelimit.hit_many(counted) if not limit.allowed]
    if not refused:
        return UNLIMITED
    return RateLimit(allowed=False, retry_after=max(limit.retry_after for limit in refused))


def check_hold_rate(request: HttpRequest) -> None:
    """Count one hold attempt; past either limit, refuse it with TooManyHolds (429)."""
    limit = hold_rate_limit(request)
    if not limit.allowed:
        raise TooManyHolds(limit.retry_after)
