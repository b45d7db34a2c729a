"""RefreshingProvider: caching, refresh windows, failures, rate limiting and threads (fake clock)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from sigv4.credentials import Credentials
from sigv4.providers import CredentialError, NoCredentialsError, RefreshingProvider

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
START = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class Source:
    """Hands out numbered credentials valid for ``lifetime`` from the clock's now, or raises on demand."""

    def __init__(self, clock: Clock, lifetime: timedelta | None = timedelta(hours=1)) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.fail: CredentialError | None = None

    def __call__(self) -> Credentials:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        expiration = None if self.lifetime is None else self.clock() + self.lifetime
        return Credentials(f"AKID{self.calls}", SECRET, None, expiration)


def make(lifetime: timedelta | None = timedelta(hours=1)) -> tuple[Clock, Source, RefreshingProvider]:
    clock = Clock()
    source = Source(clock, lifetime)
    return clock, source, RefreshingProvider(source, clock=clock)


def test_nothing_happens_before_the_first_load() -> None:
    _, source, provider = make()
    assert source.calls == 0
    assert provider.cached is None


def test_credentials_without_expiry_are_fetched_once() -> None:
    clock, source, provider = make(lifetime=None)
    first = provider.load()
    clock.advance(days=400)
    assert provider.load() is first
    assert source.calls == 1


def test_cached_until_the_advisory_window_then_refreshed() -> None:
    clock, source, provider = make()
    assert provider.load().access_key_id == "AKID1"
    clock.advance(minutes=44, seconds=59)  # 15 min 1 s left
    assert provider.load().access_key_id == "AKID1"
    clock.advance(seconds=2)  # 14 min 59 s left: refresh
    assert provider.load().access_key_id == "AKID2"
    assert source.calls == 2


def test_failed_refresh_in_the_advisory_window_keeps_serving_and_retries_later() -> None:
    clock, source, provider = make()
    provider.load()
    clock.advance(minutes=48)  # 12 min left: advisory, not mandatory
    source.fail = NoCredentialsError(["endpoint briefly down"])
    assert provider.load().access_key_id == "AKID1"
    assert source.calls == 2
    clock.advance(seconds=5)
    assert provider.load().access_key_id == "AKID1"
    assert source.calls == 2  # rate-limited: less than 10 s since the last attempt
    clock.advance(seconds=6)
    source.fail = None
    assert provider.load().access_key_id == "AKID3"


def test_failed_refresh_in_the_mandatory_window_raises_and_is_retried_at_once() -> None:
    clock, source, provider = make()
    provider.load()
    clock.advance(minutes=52)  # 8 min left: mandatory
    source.fail = CredentialError("source broken")
    with pytest.raises(CredentialError, match="source broken"):
        provider.load()
    with pytest.raises(CredentialError, match="source broken"):
        provider.load()
    assert source.calls == 3
    source.fail = None
    assert provider.load().access_key_id == "AKID4"


def test_expired_credentials_are_never_served_after_a_failure() -> None:
    clock, source, provider = make()
    provider.load()
    clock.advance(hours=2)
    source.fail = CredentialError("gone")
    with pytest.raises(CredentialError, match="gone"):
        provider.load()


def test_short_lived_credentials_are_refetched_at_most_every_retry_interval() -> None:
    clock, source, provider = make(lifetime=timedelta(minutes=5))
    provider.load()
    for _ in range(20):
        clock.advance(seconds=0.4)
        provider.load()
    assert source.calls == 1  # 8 s of loads, all inside the 10 s interval
    clock.advance(seconds=3)
    assert provider.load().access_key_id == "AKID2"


def test_first_load_errors_are_not_cached() -> None:
    _, source, provider = make()
    source.fail = NoCredentialsError(["nowhere"])
    with pytest.raises(NoCredentialsError):
        provider.load()
    source.fail = None
    assert provider.load().access_key_id == "AKID2"


def test_non_credential_errors_propagate_even_in_the_advisory_window() -> None:
    clock = Clock()
    calls: list[int] = []

    def fetch() -> Credentials:
        calls.append(1)
        if len(calls) > 1:
            raise KeyError("a bug, not a source outage")
        return Credentials("AKID", SECRET, None, clock() + timedelta(hours=1))

    provider = RefreshingProvider(fetch, clock=clock)
    provider.load()
    clock.advance(minutes=50)
    with pytest.raises(KeyError):
        provider.load()


def test_margins_are_validated() -> None:
    with pytest.raises(ValueError, match="mandatory_margin"):
        RefreshingProvider(
            lambda: Credentials("A", SECRET), advisory_margin=timedelta(1), mandatory_margin=timedelta(2)
        )


def test_repr_hides_the_secret() -> None:
    _, _, provider = make()
    provider.load()
    assert "AKID1" in repr(provider)
    assert SECRET not in repr(provider)


def run_threads(count: int, target: Callable[[], None]) -> None:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_concurrent_first_loads_fetch_once() -> None:
    calls: list[int] = []
    lock = threading.Lock()

    def slow_fetch() -> Credentials:
        with lock:
            calls.append(1)
        time.sleep(0.05)
        return Credentials("AKIDSLOW", SECRET)

    provider = RefreshingProvider(slow_fetch)
    results: list[Credentials] = []
    barrier = threading.Barrier(16, timeout=10)

    def worker() -> None:
        barrier.wait()
        results.append(provider.load())

    run_threads(16, worker)
    assert len(calls) == 1
    assert len(results) == 16
    assert all(result is results[0] for result in results)


def test_advisory_refresh_does_not_block_other_threads() -> None:
    clock = Clock()
    entered = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def fetch() -> Credentials:
        calls.append(1)
        if len(calls) == 2:
            entered.set()
            assert release.wait(timeout=10)
        return Credentials(f"AKID{len(calls)}", SECRET, None, clock() + timedelta(hours=1))

    provider = RefreshingProvider(fetch, clock=clock)
    provider.load()
    clock.advance(minutes=48)  # advisory window
    refresher = threading.Thread(target=provider.load)
    refresher.start()
    try:
        assert entered.wait(timeout=10)
        started = time.monotonic()
        assert provider.load().access_key_id == "AKID1"  # served at once, without waiting for the refresh
        assert time.monotonic() - started < 1
    finally:
        release.set()
        refresher.join(timeout=10)
    assert provider.load().access_key_id == "AKID2"
    assert len(calls) == 2
