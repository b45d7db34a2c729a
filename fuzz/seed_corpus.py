"""Write the seed corpus of fuzz/fuzz_decoder.py from the recorded streams in fixtures/.

    .venv/bin/python fuzz/seed_corpus.py fuzz-corpus

Each recorded stream (AWS and smithy-rs vectors, Bedrock recordings) becomes several harness inputs: whole,
in one-byte pieces, in small and in mixed pieces, with offsets, with a small ``max_message_size``, and with
checksums rewritten; plus all valid streams concatenated, and every regression input of
fixtures/fuzz-regressions/ as it is. File names are the SHA-1 of the content, as libFuzzer names its own, so
running the script again adds nothing twice.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from fuzz_decoder import make_input, stream_fixtures

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
REGRESSIONS = FIXTURES / "fuzz-regressions"

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


def seeds() -> list[bytes]:
    """Every seed input, in a stable order."""
    streams = [path.read_bytes() for path in stream_fixtures(FIXTURES)]
    out = [make_input(stream, mode, codes) for stream in streams for mode, codes in _VARIANTS]
    out.append(make_input(b"".join(streams), 0b10, (30, 5)))
    if REGRESSIONS.is_dir():
        out += [path.read_bytes() for path in sorted(REGRESSIONS.iterdir()) if path.suffix != ".md"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("corpus", type=Path, help="corpus folder to create or extend")
    args = parser.parse_args()
    args.corpus.mkdir(parents=True, exist_ok=True)
    written = 0
    for data in seeds():
        path = args.corpus / hashlib.sha1(data).hexdigest()
        if not path.exists():
            path.write_bytes(data)
            written += 1
    print(f"{written} new seeds in {args.corpus}")


if __name__ == "__main__":
    main()
