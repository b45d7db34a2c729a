"""Memory under hostile streams, measured with tracemalloc: the decoder holds at most one frame's worth plus
its limits, whatever the stream claims or however it is cut.

Every measurement counts only allocations made while tracing: the test builds its input first and then cuts
the pieces inside the traced loop (a fresh bytes object per read, as a socket would give) and drops its own
reference to each piece and each message, so what stays allocated is what the decoder keeps. Figures below are
from CPython 3.11 on x86-64; each bound leaves a margin over the measured value and fails on growth with the
stream's length, which is what a leak looks like.
"""

from __future__ import annotations

import gc
import os
import struct
import tracemalloc
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import pytest

from eventstream import (
    MAX_HEADERS_LENGTH,
    DecodeError,
    Decoder,
    FrameTooLarge,
    InvalidLength,
    MalformedHeader,
    MessageChecksumMismatch,
    TruncatedStream,
)
from eventstream.limits import MAX_TOTAL_LENGTH

KIB = 1024
MIB = 1024 * KIB


class Usage(Protocol):
    def __call__(self, collect: bool = False) -> tuple[int, int]: ...


@contextmanager
def traced() -> Iterator[Usage]:
    """Trace allocations; the yielded ``usage(collect=False)`` gives (current, peak) bytes above the start
    and resets the peak."""
    gc.collect()
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()

    def usage(collect: bool = False) -> tuple[int, int]:
        if collect:
            # A failed decoder and its error form a reference cycle (error -> traceback -> frame -> decoder):
            # collect cycles so that "current" counts only what is still reachable.
            gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        return current - base, peak - base

    try:
        yield usage
    finally:
        if not already:
            tracemalloc.stop()


def prelude(total: int, headers_length: int) -> bytes:
    lengths = struct.pack(">II", total, headers_length)
    return lengths + struct.pack(">I", zlib.crc32(lengths))


def frame(headers: bytes = b"", payload: bytes = b"") -> bytes:
    body = prelude(16 + len(headers) + len(payload), len(headers)) + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def boolean_header(name: bytes) -> bytes:
    return bytes([len(name)]) + name + b"\x00"


def tiny_names() -> Iterator[bytes]:
    """Distinct valid UTF-8 header names, shortest first: 1-byte ASCII, then 2- and 3-byte ones."""
    ascii_bytes = [bytes([c]) for c in range(128)]
    yield from ascii_bytes
    for first in ascii_bytes:
        for second in ascii_bytes:
            yield first + second
    for first in ascii_bytes:
        for second in ascii_bytes:
            for third in ascii_bytes:
                yield first + second + third


def full_header_blocks(count: int) -> list[bytes]:
    """``count`` distinct boolean headers packed into blocks of at most MAX_HEADERS_LENGTH bytes."""
    blocks: list[bytes] = []
    current: list[bytes] = []
    size = 0
    names = tiny_names()
    for _ in range(count):
        header = boolean_header(next(names))
        if size + len(header) > MAX_HEADERS_LENGTH:
            blocks.append(b"".join(current))
            current, size = [], 0
        current.append(header)
        size += len(header)
    blocks.append(b"".join(current))
    return blocks


# --- length claims ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("total", "headers_length", "error"), [
    (24 * MIB + 1, 0, FrameTooLarge),           # just over the default max_message_size
    (1 << 31, 0, FrameTooLarge),
    (MAX_TOTAL_LENGTH, 0, FrameTooLarge),        # 4 GiB - 1: the largest a u32 can claim
    (MAX_TOTAL_LENGTH, MAX_TOTAL_LENGTH - 15, InvalidLength),
    (MIB, MAX_HEADERS_LENGTH + 1, InvalidLength),
])
@pytest.mark.parametrize("piece", [4 * KIB, None], ids=["4KiB-reads", "one-read"])
def test_length_claims_up_to_4gib_are_refused_before_the_body_is_held(
        total: int, headers_length: int, error: type[DecodeError], piece: int | None) -> None:
    stream = prelude(total, headers_length) + os.urandom(2 * MIB)
    decoder = Decoder()
    step = piece or len(stream)
    with traced() as usage:
        with pytest.raises(error) as caught:
            for start in range(0, len(stream), step):
                decoder.feed(stream[start:start + step])
        caught.value.with_traceback(None)
        current, peak = usage(collect=True)
    assert caught.value.offset == 0 and caught.value.prelude == stream[:12]
    assert decoder.pending == 0
    # Refused at the 12th byte: the one-read case hands it all 2 MiB at once, and it copies none of it.
    assert peak < 64 * KIB, peak
    assert current < 16 * KIB, current


def test_a_4gib_claim_that_the_limit_allows_holds_only_what_arrived() -> None:
    """With max_message_size raised to the u32 maximum, a 4 GiB claim is accepted: nothing is reserved ahead,
    the pending bytes cost what they weigh, and close() reports the truncated frame."""
    decoder = Decoder(max_message_size=MAX_TOTAL_LENGTH)
    head = prelude(MAX_TOTAL_LENGTH, 0)
    received = 0
    with traced() as usage:
        assert decoder.feed(head) == []
        for _ in range(128):  # 8 MiB in 64 KiB reads
            decoder.feed(os.urandom(64 * KIB))
            received += 64 * KIB
            current, peak = usage()
            assert current <= received * 1.01 + 64 * KIB, (received, current)
            assert peak <= current + 192 * KIB, (received, peak)
        assert decoder.pending == received + 12
        with pytest.raises(TruncatedStream, match=f"{received + 12} of {MAX_TOTAL_LENGTH} bytes"):
            decoder.close()
        del decoder
        current, _ = usage(collect=True)
    assert current < 64 * KIB, current


# --- frames fed piece by piece ------------------------------------------------------------------------------


@pytest.mark.parametrize("piece", [1500, 64 * KIB])
def test_a_stream_of_maximal_frames_holds_at_most_one_frame(piece: int) -> None:
    """Endless 1 MiB frames (max_message_size = 1 MiB) arriving in network-sized reads: between reads the
    decoder holds the pending part of one frame; completing a frame costs at most three frames' worth at
    peak (the pieces, their join, the payload), and nothing stays once the message is dropped."""
    size = MIB
    headers = b"\x0b:event-type\x07\x00\x05chunk"
    one = frame(headers, os.urandom(size - 16 - len(headers)))
    assert len(one) == size
    stream = one * 6
    decoder = Decoder(max_message_size=size)
    frames = 0
    with traced() as usage:
        for start in range(0, len(stream), piece):
            for message in decoder.feed(stream[start:start + piece]):
                frames += 1
                assert len(message.payload) == size - 16 - len(headers)
                del message
            current, peak = usage()
            assert current <= decoder.pending * 1.05 + 64 * KIB, (start, current)
            assert peak <= 3 * size + 256 * KIB, (start, peak)
    assert frames == 6 and decoder.pending == 0


def test_a_long_stream_of_small_frames_in_tiny_pieces_does_not_accumulate() -> None:
    """10,000 Bedrock-sized frames cut into 1..13-byte reads: what the decoder holds stays small and flat."""
    headers = b"".join(boolean_header(n) for n in (b":event-type", b":message-type"))
    stream = b"".join(frame(headers, b'{"bytes":"%08d"}' % i) for i in range(10_000))
    decoder = Decoder()
    samples: list[int] = []
    decoded = 0
    start = 0
    step = 0
    with traced() as usage:
        while start < len(stream):
            step = step % 13 + 1
            decoded += len(decoder.feed(stream[start:start + step]))
            start += step
            if decoded and decoded % 1000 == 0 and len(samples) < decoded // 1000:
                samples.append(usage()[0])
        decoder.close()
    assert decoded == 10_000 and len(samples) == 10
    assert max(samples) < 32 * KIB, samples
    assert samples[-1] <= samples[0] + 4 * KIB, samples


# --- headers ------------------------------------------------------------------------------------------------


def test_100k_tiny_headers_within_limits_cost_one_frame_at_a_time() -> None:
    """100,000 distinct boolean headers, packed into frames whose header blocks fill the 128 KiB limit
    (~30,000 headers a frame): streaming them all peaks at what decoding the largest frame alone costs, not at
    the sum of all four, and the decoder keeps none of them afterwards (blocks this big are never cached)."""
    blocks = full_header_blocks(100_000)
    frames = [frame(block) for block in blocks]
    assert len(frames) >= 3 and max(len(b) for b in blocks) > MAX_HEADERS_LENGTH - 8
    with traced() as usage:
        (single,) = Decoder().feed(max(frames, key=len))
        assert len(single.headers) > 25_000
        del single
        _, one_frame_peak = usage()
    stream = b"".join(frames)
    decoder = Decoder()
    headers_seen = 0
    with traced() as usage:
        for start in range(0, len(stream), 4 * KIB):
            messages = decoder.feed(stream[start:start + 4 * KIB])
            headers_seen += sum(len(message.headers) for message in messages)
            del messages
        decoder.close()
        current, peak = usage(collect=True)
    assert headers_seen == 100_000
    assert peak <= one_frame_peak * 1.25 + 256 * KIB, (peak, one_frame_peak)
    assert current < 64 * KIB, current


def test_an_idle_decoder_keeps_no_header_block_the_cache_would_refuse() -> None:
    (block,) = full_header_blocks(29_000)
    decoder = Decoder()
    assert len(block) > decoder._cache.max_block_size
    with traced() as usage:
        (message,) = decoder.feed(frame(block, b"{}"))
        assert len(message.headers) == 29_000
        del message
        current, _ = usage(collect=True)
    assert current < 64 * KIB, f"an idle decoder holds {current} bytes"


def test_100k_tiny_headers_beyond_the_limit_are_refused_unparsed() -> None:
    """A header block of 100,000 headers (~400 KiB) is refused from the prelude; none of it is parsed."""
    names = tiny_names()
    block = b"".join(boolean_header(next(names)) for _ in range(100_000))
    assert len(block) > MAX_HEADERS_LENGTH
    stream = frame(block)
    with traced() as usage:
        with pytest.raises(InvalidLength, match="exceeds the format's limit"):
            Decoder().feed(stream)
        _, peak = usage()
    assert peak < 64 * KIB, peak


def test_a_full_block_of_duplicate_headers_fails_at_the_second_one() -> None:
    """A 128 KiB block repeating one tiny header: MalformedHeader at its second entry, nothing accumulated."""
    block = boolean_header(b"a") * (MAX_HEADERS_LENGTH // 3)
    stream = frame(block)
    with traced() as usage:
        with pytest.raises(MalformedHeader, match="duplicate header name 'a'"):
            Decoder().feed(stream)
        _, peak = usage()
    # One copy of the block (the cache key) and no 43,690 header objects (those would be megabytes).
    assert peak < len(block) + 64 * KIB, peak


def test_the_header_cache_is_bounded_under_endless_distinct_blocks() -> None:
    """Every frame carries a different cacheable block (~4 KiB of tiny headers, the worst case for the
    cache): the decoder's retained memory plateaus once the cache is full and does not grow after.

    The plateau is ~12 MB on CPython 3.11: the cache bounds its keys (64 x 4 KiB) but each cached block
    decodes to ~1,000 Python header objects. This test pins that ceiling."""
    names = list(tiny_names())[128:1_200]  # 2-byte names: 4-byte headers

    def block(i: int) -> bytes:
        tag = b"%06d" % i
        body = b"".join(boolean_header(n) for n in names[:1_000])
        return boolean_header(tag) + body

    decoder = Decoder()
    with traced() as usage:
        for i in range(100):
            decoder.feed(frame(block(i)))
        after_100, _ = usage()
        for i in range(100, 300):
            decoder.feed(frame(block(i)))
        after_300, _ = usage()
    cache = decoder._cache
    assert len(cache) == cache.max_entries
    assert cache.stored_bytes() <= cache.max_entries * cache.max_block_size
    assert after_300 <= after_100 * 1.05, (after_100, after_300)
    assert after_300 < 16 * MIB, after_300


# --- small reads --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("piece", [1 * KIB, 16 * KIB])
def test_network_sized_reads_of_a_pending_frame_cost_what_they_weigh(piece: int) -> None:
    decoder = Decoder()
    data = prelude(4 * MIB, 0) + os.urandom(2 * MIB)
    with traced() as usage:
        for start in range(0, len(data), piece):
            decoder.feed(data[start:start + piece])
        current, _ = usage()
    assert decoder.pending == len(data)
    assert current <= len(data) * 1.1 + 64 * KIB, current


@pytest.mark.parametrize("piece", [1, 2, 5])
def test_tiny_reads_of_a_pending_frame_do_not_multiply_its_cost(piece: int) -> None:
    """A server dribbling a maximal frame a few bytes per read (slowloris) must not make the decoder hold
    many times the frame: at most twice the bytes pending, plus a constant. (Regression: pending reads were
    kept as one bytes object each, ~41 bytes of overhead per read: 2-byte reads cost ~21x the frame.)"""
    decoder = Decoder()
    data = prelude(4 * MIB, 0) + os.urandom(256 * KIB)
    with traced() as usage:
        for start in range(0, len(data), piece):
            decoder.feed(data[start:start + piece])
        current, _ = usage()
    assert decoder.pending == len(data)
    assert current <= 2 * len(data) + 64 * KIB, f"{current} bytes held for {len(data)} pending"


def test_a_failed_decoder_keeps_at_most_the_failed_frame() -> None:
    """After a checksum error on a complete 4 MiB frame the decoder drops its buffer, and the error it keeps
    (and raises) carries no traceback through the parsing frames whose locals held the frame's bytes: nothing
    of the frame is left, neither after the failing call nor after the next one re-raises the error."""
    bad = bytearray(frame(b"", os.urandom(4 * MIB)))
    bad[-1] ^= 1
    stream = bytes(bad)
    del bad
    decoder = Decoder()
    with traced() as usage:
        with pytest.raises(MessageChecksumMismatch) as caught:
            for start in range(0, len(stream), 64 * KIB):
                decoder.feed(stream[start:start + 64 * KIB])
        del caught
        pinned, _ = usage(collect=True)
        with pytest.raises(MessageChecksumMismatch):
            decoder.feed(b"")
        current, _ = usage(collect=True)
    assert decoder.error is not None and decoder.pending == 0
    assert pinned < 64 * KIB, pinned
    assert current < 64 * KIB, current
