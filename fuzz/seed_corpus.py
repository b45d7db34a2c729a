"""Write the seed corpus of fuzz/fuzz_decoder.py from recorded event streams.

    .venv/bin/python fuzz/seed_corpus.py fuzz-corpus [--shared PATH] [--extra DIR ...]

Seeds come from this repository's fixtures/bedrock/*.bin and, from the shared data folder (``--shared``, else
``$BEDROCK_STREAM_SHARED``, else ``../shared`` next to the repository; never copied into it), AWS's
event-stream vectors (vectors/eventstream/) and the real Bedrock recordings (real_data/*.bin), plus any
``--extra`` folder of your own ``.bin`` captures. Each stream becomes several harness inputs: whole, in
one-byte pieces, in small and in mixed pieces, with offsets, with a small ``max_message_size``, and with
checksums rewritten; plus all valid streams concatenated, and every regression input of
fixtures/fuzz-regressions/ as it is. File names are the SHA-1 of the content, as libFuzzer names its own, so
running the script again adds nothing twice.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

from fuzz_decoder import make_input, stream_fixtures

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
REGRESSIONS = FIXTURES / "fuzz-regressions"


def default_shared() -> Path:
    """``$BEDROCK_STREAM_SHARED``, else ``shared`` next to the repository (as in tests/shared_data.py)."""
    configured = os.environ.get("BEDROCK_STREAM_SHARED")
    return Path(configured).expanduser() if configured else ROOT.parent / "shared"


# (mode, size codes): see the layout in fuzz_decoder's docstring.
_VARIANTS: tuple[tuple[int, tuple[int, ...]], ...] = (
    (0, ()),                  # one feed
    (0, (0,)),                # one byte at a time
    (0b110010, (6, 11, 2)),   # 7/12/3-byte pieces, feed_with_offsets, each piece type in turn
    (0b100000, (191, 192)),   # 192 then 256 bytes, memoryview pieces
    (0b1000, (3,)),           # max_message_size 64
    (0b1, (0, 40)),           # checksums rewritten
    (0b1000000, (200, 5)),    # after a 140 kB frame, 85248- and 222-byte pieces
    (0b10000001, (0,)),       # first frame grown by 140 kB, checksums rewritten, 37-byte pieces
    (0b10000000, (30,)),      # first frame grown by 140 kB, its message checksum now wrong
)


def stream_paths(shared: Path | None, extra: list[Path] = []) -> list[Path]:  # noqa: B006 -- never mutated
    """The recorded streams the seeds are made of (shared parts that are missing are left out)."""
    vectors = shared / "vectors" if shared is not None and (shared / "vectors").is_dir() else None
    paths = stream_fixtures(FIXTURES, vectors)
    if shared is not None:
        paths += sorted((shared / "real_data").glob("*.bin"))
    for folder in extra:
        paths += sorted(path for path in folder.rglob("*") if path.is_file())
    return paths


def seeds(shared: Path | None = None, extra: list[Path] = []) -> list[bytes]:  # noqa: B006 -- never mutated
    """Every seed input, in a stable order."""
    streams = [path.read_bytes() for path in stream_paths(shared, extra)]
    out = [make_input(stream, mode, codes) for stream in streams for mode, codes in _VARIANTS]
    out.append(make_input(b"".join(streams), 0b10, (30, 5)))
    if REGRESSIONS.is_dir():
        out += [path.read_bytes() for path in sorted(REGRESSIONS.iterdir()) if path.suffix != ".md"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("corpus", type=Path, help="corpus folder to create or extend")
    parser.add_argument("--shared", type=Path, default=default_shared(),
                        help="the shared data folder (default: $BEDROCK_STREAM_SHARED or ../shared)")
    parser.add_argument("--extra", type=Path, action="append", default=[],
                        help="a folder of your own recorded event streams (raw bodies); repeatable")
    args = parser.parse_args()
    if not args.shared.is_dir():
        print(f"note: no shared data folder at {args.shared}; seeding from fixtures/ only")
    args.corpus.mkdir(parents=True, exist_ok=True)
    written = 0
    for data in seeds(args.shared if args.shared.is_dir() else None, args.extra):
        path = args.corpus / hashlib.sha1(data).hexdigest()
        if not path.exists():
            path.write_bytes(data)
            written += 1
    print(f"{written} new seeds in {args.corpus}")


if __name__ == "__main__":
    main()
