"""Rate limits on the hold path: a runaway client gets 429, not a share of the rush.

Every hold counts against its client address; one with a session counts against that
session too. The address bucket counts every hold, not only first ones, because a
session costs nothing to make: a script that takes a fresh session per hold would
otherwise never be counted. It is the larger bucket, because a lodge hall or an office
shares one address (NAT).

The session's bucket is named by its key (from the cookie), not by anything inside it,
so counting needs no session read first: the read rides in the same Redis round trip
(common.sessions.prefetch), and a hold asks Redis once.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import HttpRequest

from common import ratelimit, sessions
from common.client import client_address
from common.ratelimit import RateLimit
from tickets.services.exceptions import TooManyHolds

UNLIMITED = RateLimit(allowed=True, retry_after=0)


def hold_rate_limit(request: HttpRequest) -> RateLimit:
    """Count one hold attempt against its address and, with a session, that session, and
    read the session: all in one Redis round trip (common.ratelimit.hit_many)."""
    buckets = [(settings.HOLD_RATE_LIMIT_PER_IP, f"holds:ip:{client_address(request)}")]
    session_key = request.session.session_key
    if session_key is not None:
        # Digested: the key is a credential, and a bucket's name is no place for one.
        digest = hashlib.blake2b(session_key.encode(), digest_size=16).hexdigest()
        buckets.append((settings.HOLD_RATE_LIMIT_PER_BUYER, f"holds:session:{digest}"))
    counted = [(key, *limit) for limit, key in buckets if limit is not None]
    read = sessions.prefetch(request.session)
    riders = [read] if read is not None else []
    refused = [limit for limit in ratelimit.hit_many(counted, riders=riders) if not limit.allowed]
    if not refused:
        return UNLIMITED
    return RateLimit(allowed=False, retry_after=max(limit.retry_after for limit in refused))


def check_hold_rate(request: HttpRequest) -> None:
    """Count one hold attempt; past either limit, refuse it with TooManyHolds (429)."""
    limit = hold_rate_limit(request)
    if not limit.allowed:
        raise TooManyHolds(limit.retry_after)
