"""sensing.demo.memo.once: an LRU cache whose key is computed by one thread, whoever asks."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sensing.demo.memo import once


def test_threads_asking_for_the_same_key_compute_it_once():
    calls: list[int] = []
    lock = threading.Lock()

    @once(maxsize=4)
    def slow(k: int) -> list[int]:
        with lock:
            calls.append(k)
        time.sleep(0.05)  # the other threads arrive while it computes
        return [k * 2]

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(slow, [1] * 8 + [2] * 8))
    assert sorted(calls) == [1, 2]  # lru_cache alone computes a key in every thread that misses it
    assert got[:8] == [[2]] * 8 and got[8:] == [[4]] * 8 and got[0] is got[7]  # one cached object
    assert slow.cache_info().currsize == 2
    slow.cache_clear()
    assert slow(1) == [2] and sorted(calls) == [1, 1, 2]  # computed again after clearing
