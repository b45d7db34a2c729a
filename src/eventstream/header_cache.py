"""A small bounded cache of decoded header blocks, keyed by their raw bytes.

A Bedrock response repeats the same headers block (``:event-type`` chunk, ``:content-type``,
``:message-type``) in every frame; decoding it once and sharing the immutable Headers object saves most of
the per-frame work. The cache is bounded in entry count and in the size of a cacheable block, so a hostile
stream sending endless distinct blocks costs at most ``max_entries * max_block_size`` bytes of keys (plus
their decoded values), and only slows itself down. Eviction is first-in first-out: cheaper than LRU
bookkeeping, and a stream whose working set of blocks is smaller than the cache (every real one) never
evicts at all.
"""

from __future__ import annotations

from .headers import Headers

__all__ = ["HeaderCache"]


class HeaderCache:
    """Bounded map from a raw headers block to its decoded :class:`Headers`."""

    __slots__ = ("_entries", "max_block_size", "max_entries")

    def __init__(self, max_entries: int = 64, max_block_size: int = 4096) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.max_block_size = max_block_size
        self._entries: dict[bytes, Headers] = {}

    def get(self, raw: bytes) -> Headers | None:
        """The cached Headers for this exact block, or None."""
        return self._entries.get(raw)

    def put(self, raw: bytes, headers: Headers) -> None:
        """Remember ``headers`` as the decoding of ``raw`` (blocks over max_block_size are not kept)."""
        if len(raw) > self.max_block_size:
            return
        entries = self._entries
        if len(entries) >= self.max_entries and raw not in entries:
            del entries[next(iter(entries))]
        entries[raw] = headers

    def __len__(self) -> int:
        return len(self._entries)

    def stored_bytes(self) -> int:
        """Total size of the cached raw blocks (bounded by max_entries * max_block_size)."""
        return sum(len(raw) for raw in self._entries)
