"""Event-stream decoding speed: eventstream vs botocore (and vs zlib.crc32), reported as ratios.

Three measurements, each as medians of interleaved rounds (every round runs every contender once, in
alternating order, with the garbage collector paused during a timed call as ``timeit`` does):

1. **Bedrock chunks** -- realistic InvokeModelWithResponseStream frames (~250 bytes: three string headers
   ``:event-type``/``:content-type``/``:message-type`` and a ``{"bytes": <base64 event>, "p": <padding>}``
   payload) fed in 4 KiB reads. ``eventstream.Decoder.feed`` vs ``botocore.eventstream.EventStreamBuffer``
   (``add_data`` + iterate). Reported: frames per second of each, and the ratio (goal: >= 5x botocore).
2. **1 MiB payloads** -- frames with a 1 MiB payload, decoded as one buffer and in 64 KiB reads, compared with
   a single ``zlib.crc32`` over the same bytes (the floor: every byte must be checksummed). Reported: decode
   throughput as a fraction of crc32's (goal: >= 50%), and botocore's for context. Every payload must be
   copied out as ``bytes``; with all 16 MiB of payloads alive at once (one buffer), that copy goes to fresh
   memory whose page faults cost about as much as the CRC on a VM, so that figure varies with the allocator's
   state; the 64 KiB-read case (messages consumed as they come) is the steadier one.
3. **Linear scaling** -- 10k and 100k chunk frames, each fed as one buffer to a new decoder. Reported:
   t(100k) / t(10k) (goal: <= 11; linear is 10); a 10k sample times ten calls and divides by ten.
   botocore re-slices its buffer after every frame, so its ratio is shown for 1k vs 4k frames (linear
   would be 4, quadratic 16); larger counts take minutes.

Before timing, both decoders are checked to return the same messages.

Reproduce (from the repository root, with the dev venv)::

    .venv/bin/python benchmarks/bench_eventstream.py               # default 15 rounds, about 20 s
    .venv/bin/python benchmarks/bench_eventstream.py --rounds 31    # steadier medians on a busy machine
    .venv/bin/python benchmarks/bench_eventstream.py --json         # one JSON object with every figure
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import platform
import statistics
import time
import zlib
from collections.abc import Callable

import botocore
from botocore.eventstream import EventStreamBuffer

from eventstream import Decoder, Message, encode

CHUNK_HEADERS = [(":event-type", "chunk"), (":content-type", "application/json"), (":message-type", "event")]
PAD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def chunk_frames(count: int) -> list[bytes]:
    """Bedrock chunk frames around 250 bytes: Claude text deltas in the base64 + padding envelope."""
    frames = []
    for i in range(count):
        delta = {"type": "text_delta", "text": f" word{i}"}
        event = {"type": "content_block_delta", "index": 0, "delta": delta}
        envelope = {
            "bytes": base64.b64encode(json.dumps(event, separators=(",", ":")).encode()).decode(),
            "p": PAD[: 1 + (i * 23 + 7) % 24],
        }
        payload = json.dumps(envelope, separators=(",", ":")).encode()
        frames.append(encode(Message(CHUNK_HEADERS, payload)))
    return frames


def reads(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def ours(pieces: list[bytes]) -> int:
    decoder = Decoder()
    count = 0
    for piece in pieces:
        count += len(decoder.feed(piece))
    decoder.close()
    return count


def theirs(pieces: list[bytes]) -> int:
    buffer = EventStreamBuffer()
    count = 0
    for piece in pieces:
        buffer.add_data(piece)
        for _ in buffer:
            count += 1
    return count


def timed(run: Callable[[], object]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start
    finally:
        gc.enable()


def interleaved(contenders: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds per call of each contender over `rounds` interleaved rounds."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_index in range(rounds):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            samples[name].append(timed(contenders[name]))
    return {name: statistics.median(values) for name, values in samples.items()}


def check_same_messages(data: bytes) -> None:
    decoder = Decoder()
    mine = [(dict(m.headers), m.payload) for m in decoder.feed(data)]
    decoder.close()
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    other = [(dict(m.headers), m.payload) for m in buffer]
    if mine != other:
        raise SystemExit("eventstream and botocore disagree on the benchmark stream")


def bench_chunks(rounds: int, count: int) -> dict[str, float]:
    data = b"".join(chunk_frames(count))
    check_same_messages(data)
    pieces = reads(data, 4096)
    medians = interleaved({"eventstream": lambda: ours(pieces), "botocore": lambda: theirs(pieces)}, rounds)
    return {
        "frames": count,
        "mean_frame_bytes": len(data) / count,
        "eventstream_frames_per_s": count / medians["eventstream"],
        "botocore_frames_per_s": count / medians["botocore"],
        "ratio_vs_botocore": medians["botocore"] / medians["eventstream"],
    }


def bench_large(rounds: int, frames: int) -> dict[str, float]:
    payload = bytes(range(256)) * 4096  # 1 MiB
    data = b"".join(encode(Message(CHUNK_HEADERS, payload)) for _ in range(frames))
    check_same_messages(data)
    whole = [data]
    pieces = reads(data, 64 * 1024)
    medians = interleaved(
        {
            "crc32": lambda: zlib.crc32(data),
            "eventstream (one buffer)": lambda: ours(whole),
            "eventstream (64 KiB reads)": lambda: ours(pieces),
            "botocore (64 KiB reads)": lambda: theirs(pieces),
        },
        rounds,
    )
    crc = medians["crc32"]
    return {
        "frames": frames,
        "crc32_mib_per_s": len(data) / crc / 2**20,
        "eventstream_one_buffer_vs_crc32": crc / medians["eventstream (one buffer)"],
        "eventstream_64k_reads_vs_crc32": crc / medians["eventstream (64 KiB reads)"],
        "botocore_64k_reads_vs_crc32": crc / medians["botocore (64 KiB reads)"],
    }


def bench_scaling(rounds: int, boto_rounds: int) -> dict[str, float]:
    frames = chunk_frames(10_000)
    small = b"".join(frames)
    large = small * 10  # 100k frames

    def ten_small() -> None:
        # Ten 10k-frame calls per sample (time divided by 10) so that both samples last about as long and
        # one-off costs (timer, first-touch allocations) weigh the same on each side.
        for _ in range(10):
            ours([small])

    medians = interleaved({"10k": ten_small, "100k": lambda: ours([large])}, rounds)
    boto_small, boto_large = b"".join(frames[:1000]), b"".join(frames[:4000])
    boto = interleaved({"1k": lambda: theirs([boto_small]), "4k": lambda: theirs([boto_large])}, boto_rounds)
    per_10k = medians["10k"] / 10
    return {
        "eventstream_10k_s": per_10k,
        "eventstream_100k_s": medians["100k"],
        "eventstream_100k_over_10k": medians["100k"] / per_10k,
        "botocore_4k_over_1k": boto["4k"] / boto["1k"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per measurement")
    parser.add_argument("--frames", type=int, default=20_000, help="chunk frames in measurement 1")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a report")
    args = parser.parse_args()

    chunks = bench_chunks(args.rounds, args.frames)
    large = bench_large(args.rounds, 16)
    scaling = bench_scaling(args.rounds, 3)
    if args.json:
        results = {
            "python": platform.python_version(),
            "botocore": botocore.__version__,
            "rounds": args.rounds,
            "chunks_4k_reads": chunks,
            "payload_1mib": large,
            "scaling_one_buffer": scaling,
        }
        print(json.dumps(results, indent=2))
        return
    rounds = f"medians of {args.rounds} interleaved rounds"
    print(f"Python {platform.python_version()}, botocore {botocore.__version__}; {rounds}\n")
    print(f"1. Bedrock chunk frames ({chunks['mean_frame_bytes']:.0f} bytes avg), 4 KiB reads")
    print(f"   eventstream {chunks['eventstream_frames_per_s']:>12,.0f} frames/s")
    print(f"   botocore    {chunks['botocore_frames_per_s']:>12,.0f} frames/s")
    print(f"   ratio        {chunks['ratio_vs_botocore']:>11.1f}x botocore   (goal >= 5x)\n")
    print(f"2. 1 MiB payload frames ({large['frames']:.0f}), throughput relative to zlib.crc32")
    print(f"   crc32                    {large['crc32_mib_per_s']:>8,.0f} MiB/s")
    one_buffer = large["eventstream_one_buffer_vs_crc32"]
    print(f"   eventstream, one buffer  {one_buffer:>8.0%} of crc32   (goal >= 50%)")
    print(f"   eventstream, 64 KiB reads{large['eventstream_64k_reads_vs_crc32']:>8.0%} of crc32")
    print(f"   botocore, 64 KiB reads   {large['botocore_64k_reads_vs_crc32']:>8.0%} of crc32\n")
    print("3. Scaling, all frames fed as one buffer")
    print(
        f"   eventstream 100k / 10k frames: {scaling['eventstream_100k_over_10k']:.2f}x time   (goal <= 11; "
        f"{scaling['eventstream_10k_s'] * 1e3:.1f} ms -> {scaling['eventstream_100k_s'] * 1e3:.1f} ms)"
    )
    print(f"   botocore      4k / 1k frames:  {scaling['botocore_4k_over_1k']:.2f}x time   (linear: 4)")


if __name__ == "__main__":
    main()
