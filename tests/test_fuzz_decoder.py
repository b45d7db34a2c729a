"""Fuzzing the event-stream decoder: hypothesis properties, the atheris harness's replays and its regressions.

Properties (one hypothesis test each): round trip, split invariance, truncation, bit flips, mutated valid
streams (insert/delete/overwrite bytes, splice and duplicate frames, lengths set to boundary values with the
checksums fixed so the damage reaches the header parser) and random bytes. Every decode of hostile bytes is
checked against ``reference_outcome``, a separate, deliberately plain model of the format written here from
the spec (frame walk, check order, header grammar): same frames accepted, same error class at the same offset,
whatever the split, and everything accepted re-encodes to exactly its bytes.

Budget: each property runs ``max(max_examples of the loaded profile, 1000)`` examples. Under "ci" (the default
profile of tests/conftest.py, derandomized) that is 1,000 each, ~15 s for the file; under
``pytest tests/test_fuzz_decoder.py --hypothesis-profile=deep`` it is the deep profile's 200,000 each:
6 properties, 1,200,000 generated inputs, about 21 minutes on two cores. Count them with
``--hypothesis-show-statistics`` and fuzz/count_examples.py (see fuzz/README.md).
"""

from __future__ import annotations

import importlib.util
import itertools
import random
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from eventstream import (
    DEFAULT_MAX_MESSAGE_SIZE,
    DecodeError,
    Decoder,
    FrameTooLarge,
    InvalidLength,
    MalformedHeader,
    Message,
    MessageChecksumMismatch,
    PreludeChecksumMismatch,
    TruncatedStream,
    decode,
    encode,
)
from eventstream import strategies as es
from shared_data import require, shared_root

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
REGRESSIONS = FIXTURES / "fuzz-regressions"
# AWS's event-stream vectors, read from the shared folder (tests/shared_data.py), never copied into fixtures/.
VECTORS = shared_root() / "vectors"

_BUDGET = settings().max_examples  # the loaded profile's
# The deep profile runs each property for many minutes; the suite's 120 s per-test timeout is for "ci".
pytestmark = pytest.mark.timeout(max(120, _BUDGET // 50))
# "ci" gives 150 examples per test; these properties cost ~2 ms an example, so CI affords 1,000 of each.
fuzz_settings = settings(max_examples=max(_BUDGET, 1000),
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _load_harness() -> ModuleType:
    """fuzz/fuzz_decoder.py, imported by path (fuzz/ is not a package); it never imports atheris itself."""
    spec = importlib.util.spec_from_file_location("fuzz_decoder", ROOT / "fuzz" / "fuzz_decoder.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


harness = _load_harness()

# --- the reference model ------------------------------------------------------------------------------------

_FIXED_WIDTHS = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}


def reference_header_block(block: bytes) -> list[tuple[str, int]] | None:
    """The (name, type code) of each header of a valid block, or None if the block is malformed."""
    out: list[tuple[str, int]] = []
    seen: set[str] = set()
    i = 0
    while i < len(block):
        name_length = block[i]
        i += 1
        if name_length == 0 or i + name_length + 1 > len(block):  # the type byte must fit too
            return None
        try:
            name = block[i:i + name_length].decode("utf-8")
        except UnicodeDecodeError:
            return None
        if name in seen:
            return None
        seen.add(name)
        code = block[i + name_length]
        i += name_length + 1
        if code in (6, 7):
            if i + 2 > len(block):
                return None
            length = int.from_bytes(block[i:i + 2], "big")
            i += 2
            if length > 32767 or i + length > len(block):
                return None
            if code == 7:
                try:
                    block[i:i + length].decode("utf-8")
                except UnicodeDecodeError:
                    return None
            i += length
        elif code in _FIXED_WIDTHS:
            if i + _FIXED_WIDTHS[code] > len(block):
                return None
            i += _FIXED_WIDTHS[code]
        else:
            return None
        out.append((name, code))
    return out


# A frame: (offset, total length, headers length, [(name, type code)]).
RefFrame = tuple[int, int, int, list[tuple[str, int]]]


def reference_outcome(data: bytes, max_size: int = DEFAULT_MAX_MESSAGE_SIZE
                      ) -> tuple[list[RefFrame], tuple[type[DecodeError], int] | None]:
    """The frames a correct decoder accepts from ``data`` and the error (class, offset) it stops at, if any.

    Check order per frame, as documented in eventstream.decoder: prelude CRC, lengths, headers-block limit,
    max_message_size, (the whole frame present), header block, message CRC.
    """
    frames: list[RefFrame] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 12:
            return frames, (TruncatedStream, pos)
        total, headers_length, prelude_crc = struct.unpack_from(">III", data, pos)
        if zlib.crc32(data[pos:pos + 8]) != prelude_crc:
            return frames, (PreludeChecksumMismatch, pos)
        if total < 16 or headers_length > total - 16 or headers_length > 128 * 1024:
            return frames, (InvalidLength, pos)
        if total > max_size:
            return frames, (FrameTooLarge, pos)
        if len(data) - pos < total:
            return frames, (TruncatedStream, pos)
        headers = reference_header_block(data[pos + 12:pos + 12 + headers_length])
        if headers is None:
            return frames, (MalformedHeader, pos)
        (message_crc,) = struct.unpack_from(">I", data, pos + total - 4)
        if zlib.crc32(data[pos:pos + total - 4]) != message_crc:
            return frames, (MessageChecksumMismatch, pos)
        frames.append((pos, total, headers_length, headers))
        pos += total
    return frames, None


# --- running the decoder ------------------------------------------------------------------------------------

Piece = bytes | bytearray | memoryview
Outcome = tuple[tuple[tuple[int, Message], ...], type[DecodeError] | None, int, str]


def run(pieces: Sequence[Piece], max_size: int = DEFAULT_MAX_MESSAGE_SIZE, plain: bool = False) -> Outcome:
    """Feed the pieces and close: the (offset, message) pairs, the error class (or None), the end offset (of
    the good frames) and the error's reason. ``plain``: use ``feed`` (offsets from ``Decoder.offset`` and the
    frame lengths) instead of ``feed_with_offsets``.

    Also checks what an error must be: sticky (the same object from later feeds and close), located at the
    decoder's offset, holding the prelude bytes of the bad frame.
    """
    decoder = Decoder(max_size)
    pairs: list[tuple[int, Message]] = []
    data = b"".join(bytes(piece) for piece in pieces)
    try:
        for piece in pieces:
            if plain:
                start = decoder.offset
                for message in decoder.feed(piece):
                    pairs.append((start, message))
                    start += 16 + len(message.headers.wire_bytes()) + len(message.payload)
            else:
                pairs += decoder.feed_with_offsets(piece)
        decoder.close()
    except DecodeError as exc:
        pairs += exc.decoded
        assert decoder.error is exc and decoder.offset == exc.offset
        assert exc.prelude == data[exc.offset:exc.offset + 12]
        with pytest.raises(DecodeError) as again:
            decoder.feed(b"\x00\x00\x00\x10")
        assert again.value is exc
        with pytest.raises(DecodeError) as again:
            decoder.close()
        assert again.value is exc
        return tuple(pairs), type(exc), exc.offset, exc.reason
    assert decoder.pending == 0 and decoder.offset == len(data)
    return tuple(pairs), None, len(data), ""


def split(data: bytes, cuts: Sequence[int],
          kinds: Sequence[Callable[[bytes], Piece]] = (bytes,)) -> list[Piece]:
    """``data`` cut at the given offsets (any order, repeats give empty pieces), piece types cycling."""
    bounds = [0, *sorted(cuts), len(data)]
    return [kinds[i % len(kinds)](data[a:b]) for i, (a, b) in enumerate(itertools.pairwise(bounds))]


def check_against_reference(data: bytes, cuts: Sequence[int], max_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                            kinds: Sequence[Callable[[bytes], Piece]] = (bytes,)) -> Outcome:
    """Decode ``data`` split at ``cuts`` and as one buffer: both agree with each other and with the model,
    and whatever was accepted re-encodes to exactly its bytes (also when rebuilt from (name, value) pairs).
    """
    outcome = run(split(data, cuts, kinds), max_size, plain=True)
    assert run([data], max_size) == outcome
    pairs, error, end, _ = outcome
    try:
        assert decode(data, max_message_size=max_size) == [message for _, message in pairs]
    except DecodeError as exc:
        assert (type(exc), exc.offset, exc.decoded) == (error, end, pairs)
    else:
        assert error is None
    frames, expected_error = reference_outcome(data, max_size)
    assert (error, end) == (expected_error or (None, len(data)))
    assert [offset for offset, _ in pairs] == [frame[0] for frame in frames]
    for (offset, message), (_, total, headers_length, headers) in zip(pairs, frames, strict=True):
        wire = data[offset:offset + total]
        assert [(h.name, int(h.type)) for h in message.headers.typed_items()] == headers
        assert message.headers.wire_bytes() == wire[12:12 + headers_length]
        assert message.payload == wire[12 + headers_length:-4]
        assert encode(message) == wire
        assert encode(Message(list(message.headers.items()), message.payload)) == wire
    return outcome


# --- generating inputs --------------------------------------------------------------------------------------
#
# Each property draws one small hypothesis value and builds its input from it with `es.Entropy`. The deep
# campaign can afford about 2 ms per input, and hypothesis spends ~0.1 ms on every strategy draw and ~1 us on
# every byte of a drawn binary: a stream built from dozens of draws (headers, values, cuts, edits) or from a
# kilobyte of drawn bytes would cost several times that. So an example is 64 drawn bytes, which decide the
# structure (how many frames and headers, which types, which edits) and shrink toward the simplest input,
# followed by bytes from a PRNG seeded by a drawn integer for the bulk (names, values, payloads, positions).
# Hypothesis still owns the budget, the database and replay.


# The generators are the public ones of eventstream.strategies (Entropy and its build_* functions).

entropy = es.entropy()


def gen_stream(e: es.Entropy, max_frames: int = 4) -> tuple[list[Message], list[bytes]]:
    """A valid stream (es.build_stream) as its messages and its frames."""
    stream = es.build_stream(e, max_frames)
    bounds = [*stream.offsets, len(stream.data)]
    return list(stream.messages), [stream.data[a:b] for a, b in itertools.pairwise(bounds)]


gen_cuts = es.build_cuts
gen_mutated_stream = es.build_mutated_stream
gen_random_bytes = es.build_hostile_bytes

PIECE_KINDS: list[tuple[Callable[[bytes], Piece], ...]] = [
    (bytes,), (bytearray,), (memoryview,), (bytes, bytearray, memoryview)]
MAX_SIZES = [DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_MESSAGE_SIZE, 16, 40, 100, 1024]


def starts_of(frames: Sequence[bytes]) -> list[int]:
    return [sum(map(len, frames[:i])) for i in range(len(frames))]


# --- the properties -----------------------------------------------------------------------------------------


@fuzz_settings
@given(entropy)
def test_round_trip(e: es.Entropy) -> None:
    batch, frames = gen_stream(e)
    wire = b"".join(frames)
    pairs, error, _, _ = run(split(wire, gen_cuts(e, len(wire)), e.pick(PIECE_KINDS)))
    assert error is None
    assert [message for _, message in pairs] == batch
    assert [offset for offset, _ in pairs] == starts_of(frames)
    for (_, decoded), original, frame in zip(pairs, batch, frames, strict=True):
        assert decoded.headers.typed_items() == original.headers.typed_items()
        assert all(type(decoded.headers[h.name]) is type(h.value) for h in original.headers.typed_items())
        assert encode(decoded) == frame
        assert encode(Message(list(decoded.headers.items()), decoded.payload)) == frame


@fuzz_settings
@given(entropy)
def test_split_invariance(e: es.Entropy) -> None:
    """Two independent splits (with every piece type) and the whole buffer give one and the same outcome, for
    valid, edited and random streams alike."""
    source = e.number(0, 2)
    data = (b"".join(gen_stream(e)[1]) if source == 0 else gen_mutated_stream(e) if source == 1
            else gen_random_bytes(e))
    first = check_against_reference(data, gen_cuts(e, len(data)), kinds=e.pick(PIECE_KINDS))
    assert run(split(data, gen_cuts(e, len(data)), [memoryview, bytearray, bytes])) == first


@fuzz_settings
@given(entropy)
def test_truncation(e: es.Entropy) -> None:
    """A stream cut anywhere: the complete frames come out, close() reports the cut frame's offset."""
    batch, frames = gen_stream(e)
    wire = b"".join(frames)
    cut = e.number(0, len(wire))
    pairs, error, end, _ = check_against_reference(wire[:cut], gen_cuts(e, cut), kinds=e.pick(PIECE_KINDS))
    starts = [*starts_of(frames), len(wire)]
    complete = sum(1 for frame_end in starts[1:] if frame_end <= cut)
    assert [message for _, message in pairs] == batch[:complete]
    if cut in starts:
        assert error is None
    else:
        assert error is TruncatedStream and end == starts[complete]


@fuzz_settings
@given(entropy)
def test_bit_flips(e: es.Entropy) -> None:
    """Damage inside one frame that CRC-32 always detects -- any change within one byte, a burst of up to
    32 bits between the prelude and the message CRC, any change of a checksum field -- stops the decoder at
    exactly that frame, with the frames before it intact. Arbitrary flips anywhere: nothing before the first
    damaged frame is lost or altered, and the outcome agrees with the model."""
    batch, frames = gen_stream(e)
    starts = starts_of(frames)
    wire = bytearray(b"".join(frames))
    region = e.pick(["byte", "burst", "prelude-crc", "message-crc", "anywhere"])
    if region == "anywhere":
        for _ in range(e.number(1, 8)):
            bit = e.number(0, len(wire) * 8 - 1)
            wire[bit // 8] ^= 1 << (bit % 8)
        damaged = next((i for i, (s, f) in enumerate(zip(starts, frames, strict=True))
                        if wire[s:s + len(f)] != f), len(frames))
        pairs, _, _, _ = check_against_reference(bytes(wire), gen_cuts(e, len(wire)))
        assert [message for _, message in pairs[:damaged]] == batch[:damaged]
        return
    target = e.number(0, len(frames) - 1)
    start, length = starts[target], len(frames[target])
    expected: tuple[type[DecodeError], ...]
    if region == "byte":
        at = e.number(0, length - 1)
        wire[start + at] ^= e.number(1, 255)
        expected = ((PreludeChecksumMismatch,) if at < 12 else (MessageChecksumMismatch,) if at >= length - 4
                    else (MalformedHeader, MessageChecksumMismatch))
    elif region == "burst" and length > 16:
        body_bits = (length - 16) * 8
        first = e.number(0, body_bits - 1)
        last = min(body_bits - 1, first + e.number(0, 31))
        for bit in {first, last} | {e.number(first, last) for _ in range(e.number(0, 30))}:
            wire[start + 12 + bit // 8] ^= 1 << (bit % 8)
        expected = (MalformedHeader, MessageChecksumMismatch)
    else:  # a checksum field ("burst" in a frame with no body damages its message CRC)
        field = start + 8 if region == "prelude-crc" else start + length - 4
        mask = e.number(1, 0xFFFFFFFF).to_bytes(4, "big")
        wire[field:field + 4] = bytes(x ^ y for x, y in zip(wire[field:field + 4], mask, strict=True))
        expected = (PreludeChecksumMismatch,) if region == "prelude-crc" else (MessageChecksumMismatch,)
    pairs, error, end, _ = check_against_reference(bytes(wire), gen_cuts(e, len(wire)))
    assert error in expected and end == start
    assert [message for _, message in pairs] == batch[:target]


@fuzz_settings
@given(entropy)
def test_mutated_valid_streams(e: es.Entropy) -> None:
    data = gen_mutated_stream(e)
    check_against_reference(data, gen_cuts(e, len(data)), e.pick(MAX_SIZES), e.pick(PIECE_KINDS))


@fuzz_settings
@given(entropy)
def test_random_bytes(e: es.Entropy) -> None:
    data = gen_random_bytes(e)
    check_against_reference(data, gen_cuts(e, len(data)), e.pick(MAX_SIZES))


# --- the model itself, on hand-made cases (a model that accepted everything would pass the properties) ------

def frame(headers: bytes = b"", payload: bytes = b"", total: int | None = None,
          headers_length: int | None = None, crc: int | None = None) -> bytes:
    total = 16 + len(headers) + len(payload) if total is None else total
    prelude = struct.pack(">II", total, len(headers) if headers_length is None else headers_length)
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return body + struct.pack(">I", zlib.crc32(body) if crc is None else crc)


GOOD = frame(b"\x01a\x07\x00\x05chunk", b"{}")


@pytest.mark.parametrize(("data", "expected"), [
    (GOOD + GOOD, None),
    (GOOD + GOOD[:11], (TruncatedStream, len(GOOD))),
    (GOOD + GOOD[:-1], (TruncatedStream, len(GOOD))),
    (GOOD[:8] + b"\x00\x00\x00\x00" + GOOD[12:], (PreludeChecksumMismatch, 0)),
    (frame(total=15), (InvalidLength, 0)),
    (frame(b"\x01a\x00", headers_length=4), (InvalidLength, 0)),
    (frame(total=DEFAULT_MAX_MESSAGE_SIZE + 1), (FrameTooLarge, 0)),
    (GOOD + frame(b"\x01a\x00\x01a\x01"), (MalformedHeader, len(GOOD))),
    (frame(b"\x00a\x00"), (MalformedHeader, 0)),
    (frame(b"\x01a"), (MalformedHeader, 0)),
    (frame(b"\x01\xff\x00"), (MalformedHeader, 0)),
    (frame(b"\x01a\x0a"), (MalformedHeader, 0)),
    (frame(b"\x01a\x04\x00\x00\x00"), (MalformedHeader, 0)),
    (frame(b"\x01a\x06\x80\x00" + bytes(32768)), (MalformedHeader, 0)),
    (frame(b"\x01a\x07\x00\x01\xff"), (MalformedHeader, 0)),
    (frame(b"\x01a\x00", crc=0), (MessageChecksumMismatch, 0)),
    (frame(b"\x01a\x0a", crc=0), (MalformedHeader, 0)),  # headers are checked before the message CRC
])
def test_the_reference_model_on_known_cases(data: bytes,
                                            expected: tuple[type[DecodeError], int] | None) -> None:
    assert reference_outcome(data)[1] == expected
    assert run([data])[1:3] == (expected or (None, len(data)))


# --- the atheris harness, without atheris: every fixture, every regression input ----------------------------

STREAM_FIXTURES = harness.stream_fixtures(FIXTURES, VECTORS if VECTORS.is_dir() else None)
REGRESSION_INPUTS = sorted(p for p in REGRESSIONS.iterdir() if p.is_file() and p.suffix != ".md")


def _fixture_id(path: Path) -> str:
    return path.relative_to(FIXTURES if path.is_relative_to(FIXTURES) else VECTORS).as_posix()


def test_the_fixture_list_covers_every_recorded_stream() -> None:
    require("vectors")  # the vectors' half of the list; skipped (or, under CI, failed) without them
    names_found = {_fixture_id(p) for p in STREAM_FIXTURES}
    assert len(names_found) == 25
    assert {"bedrock/claude_messages.bin", "eventstream/smithy-rs/valid_no_headers",
            "eventstream/aws-sdk-go/encoded/negative/corrupted_header_len"} <= names_found


@pytest.mark.parametrize("path", STREAM_FIXTURES, ids=_fixture_id)
def test_harness_one_input_runs_on_every_fixture(path: Path) -> None:
    stream = path.read_bytes()
    for mode, codes in [(0, ()), (0b110010, (0,)), (0b100010, (6, 11, 200)), (0b1, (3,)), (0b1000, (2, 191)),
                        (0b11000001, (4, 30))]:  # grown first frame after a 140 kB one: the large-frame path
        seed = harness.make_input(stream, mode, codes)
        case = harness.read_case(seed)
        assert case.stream == stream
        harness.TestOneInput(seed)
    # and the stream checked against the model here, in the same splits
    check_against_reference(stream, list(range(1, len(stream), 7)))


@pytest.mark.parametrize("path", REGRESSION_INPUTS, ids=lambda p: p.name)
def test_fuzz_regressions_replay(path: Path) -> None:
    data = path.read_bytes()
    harness.TestOneInput(data)
    case = harness.read_case(data)
    stream = harness.fix_checksums(case.stream) if case.fix_crcs else case.stream
    cuts = list(itertools.accumulate(itertools.islice(itertools.cycle(case.sizes), 64))) if case.sizes else []
    check_against_reference(stream, [cut for cut in cuts if cut < len(stream)], case.max_message_size)


def test_harness_finds_what_it_should(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness's checks can fail: a decoder that drops a frame or leaks a bare exception is caught."""
    seed = harness.make_input(GOOD + GOOD, 0b10, ())
    harness.TestOneInput(seed)

    class LosingDecoder(Decoder):
        def feed_with_offsets(self, data: Any) -> list[tuple[int, Message]]:
            return super().feed_with_offsets(data)[1:]

    class LeakingDecoder(Decoder):
        def feed_with_offsets(self, data: Any) -> list[tuple[int, Message]]:
            raise IndexError("bare")

    for broken, escape in [(LosingDecoder, AssertionError), (LeakingDecoder, IndexError)]:
        with monkeypatch.context() as patch:
            patch.setattr(harness, "Decoder", broken)
            with pytest.raises(escape):
                harness.TestOneInput(seed)


def test_harness_provider_matches_atheris() -> None:
    """ByteProvider reads inputs exactly as atheris.FuzzedDataProvider does (CI replays what was fuzzed)."""
    atheris = pytest.importorskip("atheris", reason="atheris is the optional 'fuzz' extra")

    rng = random.Random(5)
    for _ in range(3000):
        data = rng.randbytes(rng.randrange(0, 12))
        theirs, ours = atheris.FuzzedDataProvider(data), harness.ByteProvider(data)
        for _ in range(4):
            lo = rng.randrange(0, 300)
            hi = lo + rng.choice([0, 1, 15, 255, 256, 4095, 65535, 65536, 1 << 20])
            assert ours.ConsumeIntInRange(lo, hi) == theirs.ConsumeIntInRange(lo, hi)
            assert ours.remaining_bytes() == theirs.remaining_bytes()
        assert ours.ConsumeBytes(3) == theirs.ConsumeBytes(3)
        fuzzed = harness.read_case(data, atheris.FuzzedDataProvider)
        assert fuzzed == harness.read_case(data)


# --- your own consumer under the harness (fuzz/README.md, "Fuzz your own consumer") -----------------------

CONSUMER = '''
import eventstream

class BadStream(Exception):
    pass

def consume(pieces):
    decoder = eventstream.Decoder()
    try:
        for piece in pieces:
            decoder.feed(piece)
        decoder.close()
    except eventstream.TruncatedStream as exc:
        raise BadStream(str(exc)) from exc

def fragile(pieces):
    if sum(len(p) for p in pieces) > 100:
        raise ValueError("a bug in the consumer")
'''


def test_a_consumer_gets_every_input_and_its_undeclared_exceptions_are_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_consumer.py").write_text(CONSUMER)
    monkeypatch.syspath_prepend(str(tmp_path))
    seen: list[bytes] = []
    target = harness.Target(lambda pieces: seen.append(b"".join(bytes(p) for p in pieces)))
    data = harness.make_input(GOOD + GOOD[:20], 0b110000, (6, 11))  # truncated, pieces of mixed types
    harness.one_input(data, target=target)
    assert seen == [GOOD + GOOD[:20]]
    # TruncatedStream re-raised as the consumer's own BadStream: a finding unless declared with --allow
    with pytest.raises(Exception, match="stream ended inside a frame") as info:
        harness.one_input(data, target=harness.load_target("my_consumer:consume"))
    assert type(info.value).__name__ == "BadStream"
    harness.one_input(data, target=harness.load_target("my_consumer:consume", ["my_consumer:BadStream"]))
    with pytest.raises(ValueError, match="a bug in the consumer"):
        harness.replay(REGRESSION_INPUTS, harness.load_target("my_consumer:fragile"))


def test_the_consumer_recipe_replays_without_atheris(tmp_path: Path) -> None:
    """fuzz/README.md's third command, in replay mode (what runs without atheris): options parsed out of the
    libFuzzer arguments, the consumer imported from the current directory."""
    (tmp_path / "my_consumer.py").write_text(CONSUMER)
    command = [sys.executable, str(ROOT / "fuzz" / "fuzz_decoder.py"), "--consumer", "my_consumer:consume",
               "--allow=my_consumer:BadStream", "--replay", str(REGRESSIONS)]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    replayed = len([p for p in REGRESSIONS.iterdir() if p.is_file()])  # its README.md is an input too
    assert done.stdout.strip() == f"replayed {replayed} inputs: no finding"
    assert harness.split_target_options(["x", "--consumer=a:b", "-runs=5", "--allow", "a:E", "corpus"]) == (
        ["x", "-runs=5", "corpus"], "a:b", ["a:E"])
