"""Failures of a night: a transient read is retried once; anything else becomes the village's
one-line reason (causes included, credentials redacted)."""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, TypeVar

from sensing.http import clear_gdal_http_cache, is_transient_read_error, redact_text

log = logging.getLogger("villagewatch.flows")
T = TypeVar("T")


def failure_reason(exc: BaseException, *, limit: int = 600) -> str:
    """``Type: message`` plus the distinct messages of its causes (GDAL names the unreadable
    file only in the cause: ``RasterioIOError: Read failed`` <- ``B04.tif, band 1: IReadBlock
    failed``), credentials redacted, at most ``limit`` characters."""
    parts, seen, e = [], set(), exc
    while e is not None and id(e) not in seen and len(parts) < 3:
        seen.add(id(e))
        msg = str(e).strip()
        if msg and not any(msg in p for p in parts):
            parts.append(msg if parts else f"{type(e).__name__}: {msg}")
        e = e.__cause__ or e.__context__
    text = " <- ".join(parts) or type(exc).__name__
    text = redact_text(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: a failed read (asset connection dropped, source unreachable) is retried this many times,
#: after this many seconds, with GDAL's HTTP cache cleared first
READ_RETRIES = 1
READ_RETRY_DELAY_S = 1.0


def _clear_http_caches() -> None:
    """GDAL's HTTP cache here and, under dask.distributed, in every worker (a remote cluster's
    workers are other processes)."""
    clear_gdal_http_cache()
    try:
        from distributed import get_client

        get_client().run(clear_gdal_http_cache)
    except (ImportError, ValueError):  # no client: the local scheduler runs in this process
        pass


def with_read_retry(fn: Callable[..., T], *args: Any, what: str, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, retried ``READ_RETRIES`` times when it fails with a transient
    read error (``sensing.http.is_transient_read_error``); other errors are raised at once."""
    for attempt in range(READ_RETRIES + 1):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if attempt >= READ_RETRIES or not is_transient_read_error(exc):
                raise
            log.warning("%s: read failed (%s); retry %d/%d in %.1f s", what, failure_reason(exc, limit=300),
                        attempt + 1, READ_RETRIES, READ_RETRY_DELAY_S)
            _clear_http_caches()
            time.sleep(READ_RETRY_DELAY_S)
    raise AssertionError("unreachable")  # pragma: no cover
