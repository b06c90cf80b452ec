"""A static file server on 127.0.0.1 with HTTP Range support (what GDAL ``/vsicurl`` needs),
for serving small local COGs as STAC assets, with faults injected on demand.

    with AssetServer(folder) as srv:
        href = srv.href("B04.tif", query="st=...&sig=SECRET")   # the query is ignored
        srv.fail_next(2, status=503)              # the next 2 requests get 503
        srv.drop_next(1, path_contains="SCL")     # announce the full body, send half, close
        srv.requests                              # (method, path, query, range, status)

Requests for ``/<name>`` answer with the file ``folder/<name>`` (HEAD, GET, GET with
``Range: bytes=a-b`` -> 206); anything else 404. Faults are FIFO, each used ``times`` times.
"""
from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass
class AssetFault:
    """``status``: answer with it; ``drop``: send half of the body announced in full, then close."""

    status: int | None = None
    drop: bool = False
    path_contains: str | None = None
    times: int = 1


@dataclass
class AssetRequest:
    method: str
    path: str
    query: str
    range: str | None
    status: int = 0
    headers: dict[str, str] | None = None


class AssetServer:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.requests: list[AssetRequest] = []
        self._faults: list[AssetFault] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> "AssetServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                server._handle(self, head=True)

            def do_GET(self) -> None:
                server._handle(self, head=False)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         name="asset-http", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "AssetServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def href(self, name: str, query: str = "") -> str:
        return f"{self.url}/{name}" + (f"?{query}" if query else "")

    # ------------------------------------------------------------------ faults
    def inject(self, fault: AssetFault) -> None:
        with self._lock:
            self._faults.append(fault)

    def fail_next(self, n: int = 1, *, status: int = 503, path_contains: str | None = None) -> None:
        self.inject(AssetFault(status=status, path_contains=path_contains, times=n))

    def drop_next(self, n: int = 1, *, path_contains: str | None = None) -> None:
        self.inject(AssetFault(drop=True, path_contains=path_contains, times=n))

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return sum(f.times for f in self._faults)

    def _take_fault(self, path: str, method: str) -> AssetFault | None:
        with self._lock:
            for f in self._faults:
                if method == "HEAD" and f.drop:
                    continue  # a HEAD has no body to cut
                if f.path_contains is None or f.path_contains in path:
                    f.times -= 1
                    if f.times <= 0:
                        self._faults.remove(f)
                    return f
        return None

    # ------------------------------------------------------------------ serving
    def _handle(self, h: BaseHTTPRequestHandler, *, head: bool) -> None:
        u = urlsplit(h.path)
        path = unquote(u.path)
        seen = AssetRequest(h.command, path, u.query, h.headers.get("Range"), headers=dict(h.headers))
        with self._lock:
            self.requests.append(seen)
        fault = self._take_fault(path, h.command)
        try:
            if fault is not None and fault.status is not None:
                seen.status = fault.status
                self._reply(h, fault.status, b"injected fault\n", head=head, close=True)
                return
            f = (self.root / path.lstrip("/")).resolve()
            if self.root.resolve() not in f.parents or not f.is_file():
                seen.status = 404
                self._reply(h, 404, b"not found\n", head=head)
                return
            data = f.read_bytes()
            total = len(data)
            status, extra = 200, {"Accept-Ranges": "bytes"}
            rng = _RANGE.fullmatch((seen.range or "").strip())
            if rng:
                a, b = rng.groups()
                if a == "":
                    start, end = max(0, total - int(b)), total - 1
                else:
                    start, end = int(a), min(total - 1, int(b) if b else total - 1)
                if start >= total:
                    seen.status = 416
                    self._reply(h, 416, b"", head=head, extra={"Content-Range": f"bytes */{total}"})
                    return
                data = data[start: end + 1]
                status = 206
                extra["Content-Range"] = f"bytes {start}-{end}/{total}"
            seen.status = status
            if fault is not None and fault.drop:
                self._reply(h, status, data[: len(data) // 2], head=head, extra=extra,
                            declared=len(data), close=True)
                try:
                    h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            self._reply(h, status, data, head=head, extra=extra)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, data: bytes, *, head: bool,
               extra: dict[str, str] | None = None, declared: int | None = None, close: bool = False) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "image/tiff")
        for k, v in (extra or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(declared if declared is not None else len(data)))
        if close:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        if not head:
            h.wfile.write(data)
            h.wfile.flush()
