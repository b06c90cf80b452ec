"""Caches of the demo's rendering that compute each key once, whichever threads ask for it.

``functools.lru_cache`` lets two threads that miss the same key both compute it. A date's
bands are rendered as separate Dask tasks (one per band) that all need the date's land-cover
mixture, so on a pool of threads the mixture of one date was computed three to four times
(measured: 150 mixtures for 44 dates of a one-village night). :func:`once` is an LRU cache
whose misses wait for the thread already computing the same key.
"""
from __future__ import annotations

import functools
import threading
from typing import Callable, TypeVar

T = TypeVar("T")


def once(*, maxsize: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """``functools.lru_cache(maxsize)`` (hashable positional arguments), each key computed by
    one thread at a time: a second caller of a key being computed waits and gets the cached
    value. ``cache_clear`` and ``cache_info`` are the LRU cache's."""

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        cached = functools.lru_cache(maxsize=maxsize)(fn)
        guard = threading.Lock()
        busy: dict[tuple, threading.Lock] = {}

        @functools.wraps(fn)
        def call(*args):
            with guard:
                lock = busy.setdefault(args, threading.Lock())
            try:
                with lock:
                    return cached(*args)
            finally:
                with guard:
                    if not lock.locked():
                        busy.pop(args, None)

        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        call.cache_info = cached.cache_info  # type: ignore[attr-defined]
        return call

    return wrap
