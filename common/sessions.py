"""The session engine with Redis (settings.SESSION_ENGINE): Django's `cached_db`, whose
cache read can ride in another Redis round trip.

A hold reads its session and counts its rate limits, each a Redis round trip; a profile of
a worker under a rush put the two at about a third of a hold's wall time. The rate limits'
pipeline carries the session's read (`prefetch`), so a hold asks Redis once. Whatever
the prefetch does not bring - a miss, Redis away, no limit to count - the session reads
as `cached_db` always does.
"""

from __future__ import annotations

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.base import SessionBase

from common.cache import PipelinedGet


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._prefetched: PipelinedGet | None = None

    def prefetch(self) -> PipelinedGet | None:
        """This session's cache read, for another client's pipeline; None when it cannot
        help: no session cookie, already read, or a cache that is not Redis."""
        pipelined_get = getattr(self._cache, "pipelined_get", None)
        if self.accessed or self.session_key is None or pipelined_get is None:
            return None
        self._prefetched = pipelined_get(self.cache_key)
        return self._prefetched

    def load(self) -> dict:
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is not None and prefetched.value is not None:
            return prefetched.value
        return super().load()


def prefetch(session: SessionBase) -> PipelinedGet | None:
    """`session`'s read for the rate limits' round trip, when its engine can give one (the
    embedded default's database sessions cannot, and need none: no Redis to ask)."""
    if isinstance(session, SessionStore):
        return session.prefetch()
    return None
