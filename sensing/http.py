"""Robust HTTP for STAC APIs: retries with exponential backoff on 429/5xx, connection
errors and read timeouts (honouring ``Retry-After``), and href hygiene for provenance.

pystac-client's ``StacApiIO`` accepts a ``urllib3.Retry`` as ``max_retries``; that covers
everything urllib3 can see (status codes, connect and read errors). A response that arrives
complete with status 200 but a broken body (truncated JSON, connection cut mid-body) is
invisible to urllib3, so :func:`call_with_retries` retries those at the application level.
"""
from __future__ import annotations

import json
import logging
import re
import time
import traceback
from typing import Callable, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from urllib3 import Retry

log = logging.getLogger("villagewatch.sensing.http")

#: HTTP statuses worth retrying: rate limiting and transient server errors
RETRY_STATUSES: tuple[int, ...] = (429, 500, 502, 503, 504)

#: never wait longer than this for one ``Retry-After`` (seconds), whatever the server asks
MAX_RETRY_AFTER_S = 60.0

#: query parameters that carry credentials in signed asset URLs (Azure SAS, AWS SigV4, tokens)
SIGNED_QUERY_KEYS: frozenset[str] = frozenset({
    "sv", "st", "se", "sr", "sp", "sig", "spr", "srt", "ss", "skoid", "sktid", "skt", "ske",
    "sks", "skv", "saoid", "suoid", "scid", "sdd", "token", "access_token", "signature",
    "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires", "x-amz-signature",
    "x-amz-signedheaders", "x-amz-security-token",
})

T = TypeVar("T")


class CappedRetry(Retry):
    """``urllib3.Retry`` that honours ``Retry-After`` but never sleeps longer than
    :data:`MAX_RETRY_AFTER_S`."""

    def get_retry_after(self, response):  # type: ignore[override]
        value = super().get_retry_after(response)
        return None if value is None else min(value, MAX_RETRY_AFTER_S)


def retry_policy(max_retries: int = 5, backoff: float = 1.0) -> Retry:
    """Retry on 429/5xx, connection errors and read timeouts, for every method (STAC search
    is a read-only POST), with exponential backoff ``backoff * 2**(n-1)`` s and ``Retry-After``
    respected. After the last attempt the final response is returned (not raised), so the
    caller sees the real HTTP status."""
    return CappedRetry(
        total=max_retries,
        connect=max_retries,
        read=max_retries,
        status=max_retries,
        other=0,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def stac_api_io(*, timeout: float | None = 30.0, max_retries: int = 5, backoff: float = 1.0,
                headers: dict[str, str] | None = None):
    """A ``pystac_client.stac_api_io.StacApiIO`` using :func:`retry_policy` and ``timeout``."""
    from pystac_client.stac_api_io import StacApiIO

    return StacApiIO(headers=headers, timeout=timeout,
                     max_retries=retry_policy(max_retries, backoff) if max_retries else None)


def is_transient_body_error(exc: BaseException) -> bool:
    """True for a reply whose body broke after the headers: invalid/truncated JSON, or the
    connection cut mid-body (pystac-client wraps those in ``APIError``; the cause is kept
    in ``__context__``)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, (json.JSONDecodeError, requests.exceptions.ChunkedEncodingError,
                          requests.exceptions.ContentDecodingError)):
            return True
        e = e.__cause__ or e.__context__
    return False


def call_with_retries(fn: Callable[[], T], *, attempts: int = 3, backoff: float = 1.0,
                      retry_if: Callable[[BaseException], bool] = is_transient_body_error,
                      what: str = "request") -> T:
    """Call ``fn()``; on an exception for which ``retry_if`` is true, wait
    ``backoff * 2**k`` s and try again, up to ``attempts`` calls in all."""
    for k in range(max(1, attempts)):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - filtered by retry_if
            if k + 1 >= attempts or not retry_if(exc):
                raise
            wait = backoff * (2 ** k)
            log.warning("%s failed (%s: %s); retry %d/%d in %.1f s",
                        what, type(exc).__name__, exc, k + 1, attempts - 1, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def is_transient_read_error(exc: BaseException) -> bool:
    """True for errors a retry may cure: the source unreachable (``SourceUnavailableError``),
    connection errors and timeouts, and rasterio/GDAL read failures (a connection dropped
    mid-body reaches us only as a short read, ``RasterioIOError``). Bad input (``ValueError``
    family) and "no data" are not transient."""
    from rasterio.errors import RasterioIOError

    from .errors import SourceUnavailableError

    transient = (SourceUnavailableError, ConnectionError, TimeoutError, RasterioIOError,
                 requests.exceptions.ConnectionError, requests.exceptions.Timeout)
    # dask.distributed hands back an exception it cannot unpickle (rasterio's CPLE errors) as a
    # plain ``Exception("RasterioIOError('Read failed...')")``: recognise those by name
    names = tuple(f"{t.__name__}(" for t in transient) + ("ReadTimeout(", "ConnectTimeout(")
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, transient) or (type(e) is Exception and str(e).startswith(names)):
            return True
        e = e.__cause__ or e.__context__
    return False


def clear_gdal_http_cache() -> bool:
    """Empty GDAL's in-process ``/vsicurl/`` cache (``VSICurlClearCache``, GDAL C API). GDAL
    keeps what it read per URL, including a block cut short by a dropped connection, so a
    retry in the same process would read the same broken bytes (and so would every other
    village reading that asset). False when the symbol cannot be reached."""
    try:
        import ctypes

        import rasterio._base

        fn = ctypes.CDLL(rasterio._base.__file__).VSICurlClearCache
    except (OSError, AttributeError, ImportError):  # pragma: no cover - exotic GDAL builds
        return False
    fn.restype = None
    fn()
    return True


def strip_signed_query(href: str) -> str:
    """``href`` without credential query parameters (SAS tokens, AWS signatures) and without
    ``user:password@`` in the host part; other query parameters are kept. Local paths are
    returned unchanged."""
    parts = urlsplit(href)
    if parts.scheme not in ("http", "https", "s3", "gs", "az", "abfs"):
        return href
    if "@" in parts.netloc:
        parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
    if not parts.query:
        return urlunsplit(parts)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in SIGNED_QUERY_KEYS]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def host_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL (for messages; never includes the query)."""
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}" if p.netloc else url


def redact(url: str) -> str:
    """``url`` with credential query parameters removed (safe for logs and manifests)."""
    return strip_signed_query(url)


# --------------------------------------------------------------------------- credentials in text
_SECRET_QUERY = re.compile(
    r"(?i)([?&;](?:" + "|".join(re.escape(k) for k in sorted(SIGNED_QUERY_KEYS, key=len, reverse=True))
    + r")=)[^&\s'\"<>#)\]]*")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"]+@")
_SECRET_HEADER = re.compile(
    r"(?i)(['\"]?(?:authorization|proxy-authorization|x-api-key|api-key|ocp-apim-subscription-key)['\"]?"
    r"\s*[:=]\s*)('[^']*'|\"[^\"]*\"|[^,}\s]+(?:\s+[^,}\s]+)?)")
REDACTED = "REDACTED"

#: loggers (ours and the HTTP/GDAL libraries') whose records can carry URLs or headers
URL_LOGGERS: tuple[str, ...] = (
    "urllib3.connectionpool", "urllib3.util.retry", "urllib3.response", "requests",
    "pystac_client.stac_api_io", "pystac_client.client", "pystac_client.item_search", "pystac",
    "rasterio", "rasterio._env", "rasterio._err", "rasterio._base", "rasterio._io", "rasterio._filepath",
    "rasterio._vsiopener", "rasterio.io", "rasterio.env", "rasterio.session", "odc.stac", "odc.loader",
    "odc.loader._rio", "distributed.worker", "distributed.worker.state_machine", "distributed.protocol.pickle",
    "distributed.protocol.core", "distributed.client", "distributed.scheduler",
    "villagewatch", "villagewatch.flows", "villagewatch.sensing.stac", "villagewatch.sensing.http",
    "villagewatch.sensing.files", "villagewatch.sensing.radiometry",
    "prefect.task_runs", "prefect.flow_runs",
)


def redact_text(text: str) -> str:
    """``text`` with credentials removed wherever they appear: signed-URL query values
    (``sig=``, ``se=``, ``X-Amz-Signature=``, ``access_token=``...), ``user:password@`` in URLs
    and ``Authorization``/API-key header values (for error messages and log lines)."""
    text = _SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    text = _USERINFO.sub(lambda m: m.group(1), text)
    return _SECRET_HEADER.sub(lambda m: m.group(1) + repr(REDACTED), text)


class CredentialFilter(logging.Filter):
    """Rewrites a log record's message (and traceback) with :func:`redact_text`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is not ours to fix
            return True
        clean = redact_text(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


_FILTER = CredentialFilter()


def install_credential_filter(names: tuple[str, ...] = URL_LOGGERS) -> None:
    """Attach :class:`CredentialFilter` to ``names`` (filters do not reach child loggers, so
    each logger that emits is listed); idempotent."""
    prefixes = tuple(sorted({n.split(".")[0] + "." for n in names}))
    existing = [n for n in logging.root.manager.loggerDict if n.startswith(prefixes)]
    for name in dict.fromkeys([*names, *existing]):
        lg = logging.getLogger(name)
        if _FILTER not in lg.filters:
            lg.addFilter(_FILTER)


install_credential_filter()
