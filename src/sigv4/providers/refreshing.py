"""Caching credentials and refreshing them before they expire, safely from many threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from ..credentials import Credentials, utc_now
from .errors import CredentialError

#: Inside this window before expiry a refresh is attempted, but if it fails the current credentials
#: (still valid for a while) keep being served: a blip of the source does not fail requests.
ADVISORY_REFRESH = timedelta(minutes=15)
#: Inside this window a refresh must succeed: its failure is raised.
MANDATORY_REFRESH = timedelta(minutes=10)
#: Least time between two refresh attempts while the cached credentials are still valid, so that a
#: source handing out short-lived credentials (or failing) is not called on every request.
RETRY_INTERVAL = timedelta(seconds=10)


class RefreshingProvider:
    """A :class:`~sigv4.credentials.CredentialProvider` that calls ``fetch`` once, caches what it
    returns and calls it again shortly before those credentials expire.

    - Credentials without an ``expiration`` are cached for good.
    - Less than ``advisory_margin`` before expiry, one thread refreshes while the others keep getting the
      current credentials without waiting; a failed refresh is swallowed and retried later.
    - Less than ``mandatory_margin`` before expiry (or once expired), callers wait for the refresh and a
      failure is raised.
    - While the cached credentials are still valid, refresh attempts are at least ``retry_interval``
      apart.
    - Errors are never cached: after a failed first ``load()`` the next one calls ``fetch`` again.

    The fast path (cached and not near expiry) takes no lock. ``clock`` returns the current
    timezone-aware time; tests pass their own.
    """

    def __init__(
        self,
        fetch: Callable[[], Credentials],
        *,
        advisory_margin: timedelta = ADVISORY_REFRESH,
        mandatory_margin: timedelta = MANDATORY_REFRESH,
        retry_interval: timedelta = RETRY_INTERVAL,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if mandatory_margin > advisory_margin:
            raise ValueError("mandatory_margin must not exceed advisory_margin")
        self._fetch = fetch
        self._advisory = advisory_margin
        self._mandatory = mandatory_margin
        self._retry_interval = retry_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._credentials: Credentials | None = None
        self._next_attempt: datetime | None = None

    def load(self) -> Credentials:
        """The cached credentials, fetched or refreshed first when needed (see the class docstring)."""
        credentials = self._credentials
        if credentials is not None and (
            credentials.expiration is None or credentials.expiration - self._clock() >= self._advisory
        ):
            return credentials
        if credentials is not None and not credentials.expires_within(self._mandatory, self._clock()):
            # Advisory window: whoever gets the lock refreshes, everyone else keeps the valid credentials.
            if not self._lock.acquire(blocking=False):
                return credentials
        else:
            self._lock.acquire()
        try:
            return self._load_locked()
        finally:
            self._lock.release()

    def _load_locked(self) -> Credentials:
        now = self._clock()
        current = self._credentials
        if current is not None:
            if current.expiration is None or current.expiration - now >= self._advisory:
                return current  # another thread refreshed while we waited for the lock
            still_valid = current.expiration > now
            if still_valid and self._next_attempt is not None and now < self._next_attempt:
                return current
        self._next_attempt = now + self._retry_interval
        try:
            fresh = self._fetch()
        except CredentialError:
            if current is not None and not current.expires_within(self._mandatory, now):
                return current
            self._next_attempt = None  # a mandatory refresh that failed is retried by the next caller
            raise
        self._credentials = fresh
        return fresh

    @property
    def cached(self) -> Credentials | None:
        """The credentials currently cached (``None`` before the first successful load)."""
        return self._credentials

    def __repr__(self) -> str:
        state = "empty" if self._credentials is None else f"holding {self._credentials!r}"
        return f"<RefreshingProvider {state}>"
