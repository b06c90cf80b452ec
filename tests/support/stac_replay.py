"""A small threaded HTTP server on 127.0.0.1 replaying recorded STAC API exchanges (vcrpy
YAML cassettes), with faults injected on demand.

    with ReplayServer(CASSETTES / "test_multiple_collections.yaml") as srv:
        url = srv.url_for("https://earth-search.aws.element84.com/v1")
        srv.fail_next(2, status=429, retry_after=1)     # the next 2 requests get 429
        ...
        srv.requests                                      # what the client sent

Every original API host in the cassettes is served under ``/<host>`` on the local server, and
response bodies have ``https://<host>`` rewritten to it, so ``self``/``root``/``next`` links
keep the client local. Bodies are stored decoded, so recorded ``Content-Encoding`` headers
are dropped.

Matching a request: (1) routes added with :meth:`ReplayServer.add_route`; (2) the recorded
interaction with the same method, path, query and JSON body; (3) paging-aware fallback: a
request carrying a paging token (``next``/``token`` in the JSON body or query) gets the
recorded page with that token, or, when that page was never recorded, an empty
FeatureCollection (``unmatched_page="empty"``, ends paging) or 404; a request without a token
gets the first recorded page of that method and path whatever its filters (so a client
searching with its own parameters gets the recorded first page). Anything else: 404.

Faults (:class:`Fault`, FIFO, each used ``times`` times): an HTTP status (e.g. 429 with
``Retry-After``, 500, 503), a delay before answering (read timeouts), a truncated body with
a consistent length (invalid JSON), or a body cut short with the connection dropped.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

PAGING_KEYS = ("next", "token")
_DROP_HEADERS = {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass
class Interaction:
    method: str
    host: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int
    headers: dict[str, str]
    text: str


@dataclass
class Fault:
    """One injected misbehaviour. ``status``: answer with this HTTP status (and
    ``Retry-After: retry_after`` when given); ``delay``: seconds to wait first; ``truncate``:
    answer 200 with only the first half of the body (consistent Content-Length: invalid JSON);
    ``drop_connection``: announce the full length, send half, close. ``path_contains``: only
    requests whose path contains this string."""

    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    truncate: bool = False
    drop_connection: bool = False
    path_contains: str | None = None
    times: int = 1


@dataclass
class Seen:
    """A request the server received, and how it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0
    matched: str = ""
    fault: Fault | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def token(self) -> str | None:
        return paging_token(self.body, self.query)


def paging_token(body: Any, query: dict[str, list[str]]) -> str | None:
    if isinstance(body, dict):
        for k in PAGING_KEYS:
            if k in body:
                return str(body[k])
    for k in PAGING_KEYS:
        if k in query:
            return query[k][0]
    return None


def _likeness(a: Any, b: Any) -> int:
    """How many top-level key/values two request bodies (or queries) share."""
    if not isinstance(a, dict) or not isinstance(b, dict):
        return 0
    return sum(1 for k, v in a.items() if k in b and b[k] == v)


def _norm_path(path: str) -> str:
    return path.rstrip("/") or "/"


def _parse_body(raw: Any) -> Any:
    if raw in (None, b"", ""):
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw


def load_cassette(path: str | Path) -> list[Interaction]:
    """The interactions of a vcrpy YAML cassette."""
    d = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    out = []
    for i in d["interactions"]:
        rq, rs = i["request"], i["response"]
        u = urlsplit(rq["uri"])
        headers = {k: (v[0] if isinstance(v, list) else v) for k, v in (rs.get("headers") or {}).items()}
        text = rs["body"]["string"]
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        out.append(Interaction(method=rq["method"].upper(), host=u.netloc, path=_norm_path(u.path),
                               query=parse_qs(u.query), body=_parse_body(rq.get("body")),
                               status=int(rs["status"]["code"]), headers=headers, text=text))
    return out


class ReplayServer:
    """Replays cassettes on ``http://127.0.0.1:<free port>``; see the module docstring."""

    def __init__(self, *cassettes: str | Path, unmatched_page: str = "empty"):
        if unmatched_page not in ("empty", "404"):
            raise ValueError("unmatched_page is 'empty' or '404'")
        self.interactions: list[Interaction] = [i for c in cassettes for i in load_cassette(c)]
        self.hosts = sorted({i.host for i in self.interactions})
        self.unmatched_page = unmatched_page
        self.requests: list[Seen] = []
        self._faults: list[Fault] = []
        self._routes: list[tuple[str, str, str, Any, int, dict[str, str], Any]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "ReplayServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server._handle(self)

            def do_POST(self) -> None:
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="stac-replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "ReplayServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url_for(self, original: str) -> str:
        """The local URL serving ``original`` (``https://host/path`` -> ``<url>/host/path``)."""
        u = urlsplit(original)
        q = f"?{u.query}" if u.query else ""
        return f"{self.url}/{u.netloc}{u.path}{q}"

    # ------------------------------------------------------------ faults and routes
    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def fail_next(self, n: int = 1, *, status: int = 503, retry_after: float | None = None,
                  path_contains: str | None = None) -> None:
        self.inject(Fault(status=status, retry_after=retry_after, path_contains=path_contains, times=n))

    def slow_next(self, n: int = 1, *, delay: float = 2.0, path_contains: str | None = None) -> None:
        self.inject(Fault(delay=delay, path_contains=path_contains, times=n))

    def truncate_next(self, n: int = 1, *, drop_connection: bool = False, path_contains: str | None = None) -> None:
        self.inject(Fault(truncate=not drop_connection, drop_connection=drop_connection,
                          path_contains=path_contains, times=n))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return sum(f.times for f in self._faults)

    def add_route(self, method: str, original_url: str, body: Any, *, status: int = 200,
                  headers: dict[str, str] | None = None, when_body: dict | None = None) -> None:
        """Answer ``method original_url`` (path only; ``when_body``: only when the request's JSON
        body contains these key/values) with ``body`` (dict -> JSON, host links rewritten)."""
        u = urlsplit(original_url)
        self._routes.append((method.upper(), u.netloc, _norm_path(u.path), body, status,
                             dict(headers or {"Content-Type": "application/geo+json"}), when_body))

    # ------------------------------------------------------------ serving
    def _rewrite(self, text: str) -> str:
        for h in self.hosts + [r[1] for r in self._routes]:
            text = text.replace(f"https://{h}", f"{self.url}/{h}").replace(f"http://{h}", f"{self.url}/{h}")
        return text

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.path_contains is None or f.path_contains in path:
                    f.times -= 1
                    if f.times <= 0:
                        self._faults.remove(f)
                    return f
        return None

    def _match(self, method: str, host: str, path: str, query: dict, body: Any):
        for m, h, p, rbody, status, headers, when in self._routes:
            if m == method and h == host and p == path and (
                    when is None or (isinstance(body, dict) and all(body.get(k) == v for k, v in when.items()))):
                text = rbody if isinstance(rbody, str) else json.dumps(rbody)
                return status, headers, text, "route"
        same = [i for i in self.interactions if i.method == method and i.host == host and i.path == path]
        for i in same:
            if i.query == query and i.body == body:
                return i.status, i.headers, i.text, "exact"
        token = paging_token(body, query)
        if token is not None:
            for i in same:
                if paging_token(i.body, i.query) == token:
                    return i.status, i.headers, i.text, "token"
            if same and self.unmatched_page == "empty":
                empty = {"type": "FeatureCollection", "features": [], "links": []}
                return 200, {"Content-Type": "application/geo+json"}, json.dumps(empty), "end-of-recording"
            return None
        firsts = [i for i in same if paging_token(i.body, i.query) is None]
        if firsts:
            best = max(firsts, key=lambda i: _likeness(body, i.body) + _likeness(query, i.query))
            return best.status, best.headers, best.text, "first-page"
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        u = urlsplit(h.path)
        parts = u.path.lstrip("/").split("/", 1)
        host = parts[0]
        path = _norm_path("/" + (parts[1] if len(parts) > 1 else ""))
        query = parse_qs(u.query)
        length = int(h.headers.get("Content-Length") or 0)
        body = _parse_body(h.rfile.read(length) if length else None)
        seen = Seen(method=h.command, path=path, query=query, body=body)
        with self._lock:
            self.requests.append(seen)
        fault = self._take_fault(path)
        seen.fault = fault
        try:
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
            if fault is not None and fault.status is not None:
                payload = json.dumps({"code": "InjectedFault", "description": f"injected HTTP {fault.status}"})
                headers = {"Content-Type": "application/json"}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(int(round(fault.retry_after)))
                seen.status, seen.matched = fault.status, "fault"
                self._send(h, fault.status, headers, payload.encode())
                return
            found = self._match(h.command, host, path, query, body)
            if found is None:
                payload = json.dumps({"code": "NotFound",
                                      "description": f"no recorded interaction for {h.command} {host}{path}"})
                seen.status, seen.matched = 404, "none"
                self._send(h, 404, {"Content-Type": "application/json"}, payload.encode())
                return
            status, headers, text, how = found
            data = self._rewrite(text).encode("utf-8")
            seen.status, seen.matched = status, how
            if fault is not None and fault.truncate:
                self._send(h, status, headers, data[: len(data) // 2])
            elif fault is not None and fault.drop_connection:
                self._send(h, status, headers, data[: len(data) // 2], declared_length=len(data))
                h.close_connection = True
                try:
                    h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            else:
                self._send(h, status, headers, data)
        except (BrokenPipeError, ConnectionResetError):  # client gave up (timeout test)
            pass

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], data: bytes,
              declared_length: int | None = None) -> None:
        h.send_response(status)
        for k, v in headers.items():
            if k.lower() not in _DROP_HEADERS:
                h.send_header(k, v)
        h.send_header("Content-Length", str(declared_length if declared_length is not None else len(data)))
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()


def closed_port_url(path: str = "/v1") -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
