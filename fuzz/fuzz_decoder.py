"""Coverage-guided fuzzing of ``eventstream.Decoder.feed`` with atheris (libFuzzer), in arbitrary splits.

Run (see fuzz/README.md)::

    .venv/bin/pip install -e '.[fuzz]'
    .venv/bin/python fuzz/seed_corpus.py fuzz-corpus
    .venv/bin/python fuzz/fuzz_decoder.py fuzz-corpus -max_total_time=600

One input is a stream plus a few control values. atheris' ``FuzzedDataProvider`` takes integers from the *end*
of the input and bytes from the front, so the layout, read backwards, is::

    stream | size codes (one byte each, the first piece's last) | piece count | mode

* mode bit 0: rewrite the checksums of every frame the length fields point at before decoding, so that
  mutations of lengths and header blocks get past the CRC gates and reach the parsers behind them;
  bit 1: ``feed_with_offsets`` instead of ``feed``; bits 2-3: ``max_message_size`` (see ``_MAX_SIZES``);
  bits 4-5: the type of each piece (bytes, bytearray, memoryview, or each in turn); bit 6: put a valid
  140 kB frame before the stream; bit 7: grow the stream's first frame by 140 kB of payload (its total length
  field and the bytes before its message CRC). Frames that large take the decoder's large-frame path, which
  libFuzzer's ~20 kB inputs would otherwise never reach.
* piece sizes cycle over the size codes (code < 192: that many bytes plus one; else a multiple of 256; times
  37 when bit 6 or 7 is set); no codes means the whole stream in one ``feed``.

What is checked (any other exception, or a failed assertion, is a finding): only :class:`DecodeError`
escapes; the split does not change the result (same messages, same error class, offset and reason as one
whole-buffer decode and as :func:`eventstream.decode`); everything decoded re-encodes to exactly the bytes it
came from, also when rebuilt from its plain ``(name, value)`` pairs; an error points at the first byte after
the good frames, carries that frame's prelude, and is sticky.

:func:`TestOneInput` uses :class:`ByteProvider`, a pure-Python reader with the same semantics as atheris'
provider for the calls made here (a test checks they agree when atheris is installed), so CI replays the
fixtures and the regression inputs without atheris. :func:`main` fuzzes with atheris' own provider.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import importlib
import inspect
import struct
import sys
import types
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eventstream import DEFAULT_MAX_MESSAGE_SIZE, DecodeError, Decoder, Message, decode, encode

__all__ = [
    "ByteProvider",
    "Case",
    "Target",
    "TestOneInput",
    "check_stream",
    "fix_checksums",
    "inflate",
    "load_target",
    "make_input",
    "one_input",
    "prepare",
    "read_case",
    "stream_fixtures",
]

#: Recorded streams: this repository's fixtures/bedrock/ and AWS's event-stream vectors in the shared folder's
#: vectors/ (never copied here); the seeds of the corpus (fuzz-regressions/ holds harness inputs instead).
_STREAM_FIXTURES = ("bedrock/*.bin",)
_STREAM_VECTORS = ("eventstream/aws-sdk-go/encoded/*/*", "eventstream/smithy-rs/*")
_MAX_SIZES = (DEFAULT_MAX_MESSAGE_SIZE, 16, 64, 1024)
_KINDS: tuple[Callable[[bytes], bytes | bytearray | memoryview], ...] = (bytes, bytearray, memoryview)
_MAX_PIECES = 15


class Provider(Protocol):
    """The part of ``atheris.FuzzedDataProvider`` this harness uses."""

    def ConsumeIntInRange(self, lo: int, hi: int, /) -> int: ...  # noqa: N802 -- atheris' name

    def ConsumeBytes(self, count: int, /) -> bytes: ...  # noqa: N802 -- atheris' name

    def remaining_bytes(self) -> int: ...


class ByteProvider:
    """Pure-Python stand-in for ``atheris.FuzzedDataProvider`` (the three calls this harness makes).

    Like atheris: an integer in ``[lo, hi]`` is ``lo + v % (hi - lo + 1)`` where ``v`` is read little-endian
    from as many bytes *at the end* of the input as ``hi - lo`` needs (fewer if fewer are left; ``lo`` when
    none are); bytes are taken from the front.
    """

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        self._start = 0
        self._end = len(self._data)

    def ConsumeIntInRange(self, lo: int, hi: int, /) -> int:  # noqa: N802 -- atheris' name
        span = hi - lo
        width = (span.bit_length() + 7) // 8
        take = width if width <= self._end - self._start else self._end - self._start
        value = int.from_bytes(self._data[self._end - take:self._end], "little")
        self._end -= take
        return lo + value % (span + 1)

    def ConsumeBytes(self, count: int, /) -> bytes:  # noqa: N802 -- atheris' name
        take = count if count <= self._end - self._start else self._end - self._start
        out = self._data[self._start:self._start + take]
        self._start += take
        return out

    def remaining_bytes(self) -> int:
        return self._end - self._start


@dataclass(frozen=True)
class Case:
    """One decoded harness input: the stream and how to feed it."""

    stream: bytes
    sizes: tuple[int, ...]
    fix_crcs: bool
    with_offsets: bool
    max_message_size: int
    kind: int  # 0..2: that type for every piece; 3: bytes, bytearray, memoryview in turn
    big_first: bool
    inflate: bool


def _piece_size(code: int) -> int:
    # Mostly small pieces (partial preludes and frames), sometimes large ones (many frames per feed).
    return code + 1 if code < 192 else (code - 191) * 256


def read_case(data: bytes, provider: Callable[[bytes], Provider] = ByteProvider) -> Case:
    """Split a harness input into stream and control values (see the module docstring for the layout)."""
    fdp = provider(data)
    mode = fdp.ConsumeIntInRange(0, 255)
    count = fdp.ConsumeIntInRange(0, _MAX_PIECES)
    # With a 140 kB frame in play, pieces are 37 times larger (still mostly under the decoder's 1 KiB
    # coalescing size): one-byte reads of it would make an execution take 100 times longer.
    scale = 37 if mode & 192 else 1
    sizes = tuple(scale * _piece_size(fdp.ConsumeIntInRange(0, 255)) for _ in range(count))
    stream = fdp.ConsumeBytes(fdp.remaining_bytes())
    return Case(stream, sizes, bool(mode & 1), bool(mode & 2), _MAX_SIZES[(mode >> 2) & 3], (mode >> 4) & 3,
                bool(mode & 64), bool(mode & 128))


def make_input(stream: bytes, mode: int = 0, size_codes: Sequence[int] = ()) -> bytes:
    """The harness input that :func:`read_case` reads back as ``stream`` with these controls (seeds)."""
    if not 0 <= mode <= 255 or len(size_codes) > _MAX_PIECES or not all(0 <= c <= 255 for c in size_codes):
        raise ValueError("mode and size codes are bytes; at most 15 size codes")
    return bytes(stream) + bytes(reversed(size_codes)) + bytes((len(size_codes), mode))


_BIG = 140_000
_BIG_FRAME = encode(Message({":event-type": "chunk"}, bytes(range(256)) * (_BIG // 256)))


def inflate(stream: bytes) -> bytes:
    """``stream`` with its first frame's total length and payload grown by 140 kB (zero bytes put in just
    before the 4 bytes its length field says end the frame, or at the end of the stream) and its prelude
    checksum rewritten, so the frame reaches the large-frame path with whatever message checksum it has."""
    if len(stream) < 12:
        return stream
    (total,) = struct.unpack_from(">I", stream, 0)
    at = max(12, min(total - 4, len(stream)))
    lengths = struct.pack(">I", (total + _BIG) & 0xFFFFFFFF) + stream[4:8]
    return lengths + struct.pack(">I", zlib.crc32(lengths)) + stream[12:at] + bytes(_BIG) + stream[at:]


def fix_checksums(stream: bytes) -> bytes:
    """``stream`` with the prelude and message CRCs rewritten for every frame its length fields chain to."""
    data = bytearray(stream)
    pos = 0
    while len(data) - pos >= 12:
        (total,) = struct.unpack_from(">I", data, pos)
        struct.pack_into(">I", data, pos + 8, zlib.crc32(data[pos:pos + 8]))
        if total < 16 or total > len(data) - pos:
            break
        struct.pack_into(">I", data, pos + total - 4, zlib.crc32(data[pos:pos + total - 4]))
        pos += total
    return bytes(data)


Outcome = tuple[tuple[tuple[int, Message], ...], type[DecodeError] | None, int, str, bytes]


def _run(pieces: Iterable[bytes | bytearray | memoryview], max_message_size: int,
         with_offsets: bool) -> Outcome:
    decoder = Decoder(max_message_size)
    pairs: list[tuple[int, Message]] = []
    try:
        for piece in pieces:
            if with_offsets:
                pairs += decoder.feed_with_offsets(piece)
            else:
                start = decoder.offset
                for message in decoder.feed(piece):
                    pairs.append((start, message))
                    start += 16 + len(message.headers.wire_bytes()) + len(message.payload)
        decoder.close()
    except DecodeError as exc:
        pairs += exc.decoded
        # Sticky: the same error object, from feed and close alike, and the decoder says so.
        for again in (lambda: decoder.feed(b"\x00"), decoder.close):
            try:
                again()
            except DecodeError as later:
                assert later is exc, (later, exc)
            else:
                raise AssertionError(f"{exc!r} was not sticky") from None
        assert decoder.error is exc and decoder.offset == exc.offset, (decoder.offset, exc)
        return tuple(pairs), type(exc), exc.offset, exc.reason, exc.prelude
    assert decoder.error is None and decoder.pending == 0
    return tuple(pairs), None, decoder.offset, "", b""


def _pieces(stream: bytes, sizes: Sequence[int], kind: int) -> list[bytes | bytearray | memoryview]:
    if not sizes:
        return [_KINDS[kind % 3](stream)]
    out: list[bytes | bytearray | memoryview] = []
    pos = 0
    i = 0
    while pos < len(stream):
        size = sizes[i % len(sizes)]
        convert = _KINDS[i % 3] if kind == 3 else _KINDS[kind]
        out.append(convert(stream[pos:pos + size]))
        pos += size
        i += 1
    return out


def check_stream(stream: bytes, sizes: Sequence[int] = (), *,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE, with_offsets: bool = False,
                 kind: int = 0) -> Outcome:
    """Decode ``stream`` fed in pieces of ``sizes`` (cycled) and check every invariant; return the outcome."""
    split = _run(_pieces(stream, sizes, kind), max_message_size, with_offsets)
    whole = _run([stream], max_message_size, True)
    assert split == whole, (split, whole)
    pairs, error, end, _, prelude = whole
    try:
        decoded = decode(stream, max_message_size=max_message_size)
    except DecodeError as exc:
        assert (type(exc), exc.offset, exc.decoded) == (error, end, pairs), (exc, whole)
    else:
        assert error is None and decoded == [message for _, message in pairs], (decoded, whole)
    # Everything decoded is exactly the bytes before the error (or the whole stream), frame by frame.
    pos = 0
    for offset, message in pairs:
        frame = encode(message)
        assert offset == pos and stream[pos:pos + len(frame)] == frame, (offset, pos, message)
        rebuilt = Message(list(message.headers.items()), message.payload)
        assert rebuilt == message and encode(rebuilt) == frame, (rebuilt, message)
        pos += len(frame)
    assert pos == end, (pos, end)
    if error is not None:
        assert prelude == stream[end:end + 12], (prelude, stream[end:end + 12])
    else:
        assert end == len(stream)
    return whole


def stream_fixtures(fixtures: Path, vectors: Path | None = None) -> list[Path]:
    """Every recorded event stream under ``fixtures`` (the repository's fixtures/ folder) and, when given,
    every AWS event-stream vector under ``vectors`` (the shared folder's vectors/); each part sorted."""
    found = sorted(path for pattern in _STREAM_FIXTURES for path in fixtures.glob(pattern) if path.is_file())
    if vectors is not None:
        found += sorted(p for pattern in _STREAM_VECTORS for p in vectors.glob(pattern) if p.is_file())
    return found


def prepare(case: Case) -> bytes:
    """The stream a case decodes: its bytes, grown and/or after a large frame, checksums fixed if asked."""
    stream = inflate(case.stream) if case.inflate else case.stream
    if case.fix_crcs:
        stream = fix_checksums(stream)
    return _BIG_FRAME + stream if case.big_first else stream


#: A user's consumer of event-stream bytes: called with the pieces of one input, in the order they arrive.
Consumer = Callable[[list[bytes | bytearray | memoryview]], object]


@dataclass(frozen=True)
class Target:
    """Your own code under the fuzzer: ``consumer`` gets every input's pieces (after the decoder's own checks
    pass); raising anything that is not an instance of ``allowed`` is a finding."""

    consumer: Consumer
    allowed: tuple[type[BaseException], ...] = (DecodeError,)


def load_target(spec: str, allowed: Sequence[str] = ()) -> Target:
    """A :class:`Target` from ``module:function`` and ``module:ExceptionClass`` names (the current directory
    is importable, as when you run ``python -m``)."""
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))

    def resolve(name: str) -> Any:
        module_name, sep, attribute = name.partition(":")
        if not sep or not module_name or not attribute:
            raise SystemExit(f"expected module:name, got {name!r}")
        value: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            value = getattr(value, part)
        return value

    classes = tuple(resolve(name) for name in allowed)
    if not all(isinstance(c, type) and issubclass(c, BaseException) for c in classes):
        raise SystemExit(f"--allow takes exception classes, got {allowed!r}")
    return Target(resolve(spec), (DecodeError, *classes))


def one_input(data: bytes, provider: Callable[[bytes], Provider] = ByteProvider,
              target: Target | None = None) -> None:
    """The fuzz target: read a :class:`Case` from ``data`` and check it; then, if given, feed the same pieces
    to ``target``'s consumer."""
    case = read_case(data, provider)
    stream = prepare(case)
    check_stream(stream, case.sizes, max_message_size=case.max_message_size, with_offsets=case.with_offsets,
                 kind=case.kind)
    if target is not None:
        with contextlib.suppress(*target.allowed):  # what the consumer promises on bad input
            target.consumer(_pieces(stream, case.sizes, case.kind))


def TestOneInput(data: bytes) -> None:  # noqa: N802 -- the name atheris and libFuzzer users expect
    """:func:`one_input` with the pure-Python provider: runs anywhere, atheris or not."""
    one_input(data, ByteProvider)


def _instrument(atheris: types.ModuleType, packages: set[str]) -> int:
    """Add coverage instrumentation to every function of ``packages`` (already imported)."""
    count = 0
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and (obj.__module__ or "").partition(".")[0] in packages:
            atheris.instrument_func(obj)
            count += 1
    return count


def replay(paths: Sequence[Path], target: Target | None = None) -> int:
    """Run :func:`one_input` on every file under ``paths`` (no atheris needed); return the count."""
    count = 0
    for root in paths:
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file():
                one_input(path.read_bytes(), ByteProvider, target)
                count += 1
    return count


def _executable_lines(code: types.CodeType) -> set[int]:
    """Lines of the function bodies in ``code`` (module and class bodies run at import, not per input)."""
    lines: set[int] = set()
    if code.co_flags & inspect.CO_OPTIMIZED:
        lines = {line for _, _, line in code.co_lines() if line is not None and line != code.co_firstlineno}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            lines |= _executable_lines(const)
    return lines


def line_coverage(paths: Sequence[Path]) -> dict[str, tuple[int, int]]:
    """Replay ``paths`` under a line tracer; return {eventstream module file: (lines run, executable lines)}.

    Stdlib only (sys.settrace), so a campaign's corpus can be measured without coverage.py.
    """
    package = Path(str(sys.modules[Decoder.__module__].__file__)).parent
    files = {str(path): path for path in package.glob("*.py")}
    run: dict[str, set[int]] = {name: set() for name in files}

    def tracer(frame: types.FrameType, event: str, arg: Any) -> Any:
        name = frame.f_code.co_filename
        if name not in run:
            return None
        run[name].add(frame.f_lineno)

        def local(frame: types.FrameType, event: str, arg: Any) -> Any:
            if event == "line":
                run[name].add(frame.f_lineno)
            return local

        return local

    sys.settrace(tracer)
    try:
        replay(paths)
    finally:
        sys.settrace(None)
    out = {}
    for name, path in sorted(files.items()):
        executable = _executable_lines(compile(path.read_text(), name, "exec"))
        out[path.name] = (len(run[name] & executable), len(executable))
    return out


def split_target_options(argv: Sequence[str]) -> tuple[list[str], str | None, list[str]]:
    """Take ``--consumer module:function`` and ``--allow module:Error`` (repeatable; ``--opt=value`` works
    too) out of ``argv``: libFuzzer would read them as corpus folders. Returns the rest, consumer, allowed."""
    rest: list[str] = []
    values: dict[str, list[str]] = {"--consumer": [], "--allow": []}
    items = iter(argv)
    for item in items:
        name, eq, value = item.partition("=")
        if name in values:
            values[name].append(value if eq else next(items, ""))
        else:
            rest.append(item)
    if len(values["--consumer"]) > 1:
        raise SystemExit("--consumer is given once")
    return rest, values["--consumer"][0] if values["--consumer"] else None, values["--allow"]


def main(argv: Sequence[str]) -> None:
    """``fuzz_decoder.py [--consumer module:function [--allow module:Error]...] [libFuzzer flags] [corpus
    dirs]``, or ``fuzz_decoder.py [--consumer ...] --replay PATH... [--lines]`` (no atheris needed;
    ``--lines`` prints the eventstream line coverage of those inputs). With ``--consumer`` every input's
    pieces also go to your function; an exception other than ``DecodeError`` and the ``--allow`` classes is
    a finding (and the consumer's package is instrumented too)."""
    argv, consumer, allowed = split_target_options(argv)
    target = load_target(consumer, allowed) if consumer else None
    if len(argv) > 1 and argv[1] == "--replay":
        parser = argparse.ArgumentParser(prog=argv[0])
        parser.add_argument("--replay", nargs="+", type=Path, required=True)
        parser.add_argument("--lines", action="store_true", help="print line coverage of src/eventstream")
        args = parser.parse_args(argv[1:])
        if not args.lines:
            print(f"replayed {replay(args.replay, target)} inputs: no finding")
            return
        totals = [0, 0]
        for name, (hit, executable) in line_coverage(args.replay).items():
            totals[0] += hit
            totals[1] += executable
            print(f"{name:20} {hit:4}/{executable:<4} {100 * hit / max(executable, 1):5.1f}%")
        print(f"{'total':20} {totals[0]:4}/{totals[1]:<4} {100 * totals[0] / max(totals[1], 1):5.1f}%")
        return
    import atheris  # noqa: PLC0415 -- optional: only the fuzzing campaign needs it

    packages = {"eventstream"}
    if consumer:
        packages.add(consumer.partition(":")[0].partition(".")[0])
    print(f"INFO: instrumented {_instrument(atheris, packages)} functions of {', '.join(sorted(packages))}")
    fuzz_one = functools.partial(one_input, provider=atheris.FuzzedDataProvider, target=target)
    atheris.Setup(list(argv), fuzz_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
