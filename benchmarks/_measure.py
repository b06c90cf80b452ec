"""Wall time and peak resident memory of one command, run in a fresh child process.

Stdlib only, on purpose: on Linux a child's ``ru_maxrss`` starts at its parent's peak RSS
(the child begins life in, or as a copy of, the parent's address space, and the kernel keeps
that high-water mark across ``exec``), so the process that launches the measurements must
stay small. ``measure`` waits for exactly that child
with ``os.wait4`` and reads its ``ru_maxrss`` (the largest RSS of the child or of any
descendant it waited for); ``floor_mib`` measures ``/bin/true`` to show the launcher's
contribution. ``ru_maxrss`` is one process's peak: a command whose work runs in several
processes at once (a night's batches in worker processes, ``flows.processes``) is also
sampled every :data:`SAMPLE_S` seconds for the summed RSS of the child and all its
descendants (``tree_peak_rss_mib``, from ``/proc``; a sampled peak, so a lower bound).
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping, Sequence


#: seconds between samples of the process tree's summed RSS
SAMPLE_S = 0.25


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    return kids


def tree_rss_mib(pid: int) -> float:
    """The summed resident set (MiB) of ``pid`` and all its descendants now (Linux ``/proc``;
    0 elsewhere)."""
    if not os.path.isdir("/proc"):
        return 0.0
    kids, todo, total = _children(), [pid], 0
    while todo:
        p = todo.pop()
        todo.extend(kids.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total / 1024.0


@dataclass
class Measurement:
    cmd: list[str]
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    returncode: int
    stdout: str
    stderr: str
    tree_peak_rss_mib: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def summary(self) -> dict:
        d = asdict(self)
        d["stdout"] = self.stdout[-2000:]
        d["stderr"] = self.stderr[-2000:]
        return d


def measure(cmd: Sequence[str], *, env: Mapping[str, str | None] | None = None, cwd: str | os.PathLike | None = None,
            timeout: float | None = None) -> Measurement:
    """Run ``cmd`` in a fresh child; return its wall and CPU time and peak RSS (MiB, from
    ``wait4``). ``env`` entries update the environment; a ``None`` value removes a variable."""
    full_env = {**os.environ, **(env or {})}
    full_env = {k: v for k, v in full_env.items() if v is not None}
    out_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"vwbench.{os.getpid()}.{time.monotonic_ns()}"
    with open(f"{out_path}.out", "w+") as fo, open(f"{out_path}.err", "w+") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=fo, stderr=fe, env=full_env, cwd=cwd)
        deadline = None if timeout is None else t0 + timeout
        tree = 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline and time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            tree = max(tree, tree_rss_mib(proc.pid))
            time.sleep(SAMPLE_S)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        stdout, stderr = fo.read(), fe.read()
    for suffix in (".out", ".err"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    return Measurement(list(map(str, cmd)), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0,
                       proc.returncode, stdout, stderr, max(tree, usage.ru_maxrss / 1024.0))


def floor_mib() -> float:
    """Peak RSS reported for ``/bin/true``: what the launcher itself adds to every figure."""
    return measure(["/bin/true"]).peak_rss_mib


def machine_info() -> dict:
    """CPU, core count, memory and software versions for the report header (Linux)."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "sched_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "mem_gib": round(mem_gib, 1) if mem_gib else None,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def which(name: str, *candidates: str) -> str | None:
    """First existing executable among ``name`` on PATH and explicit ``candidates``."""
    found = shutil.which(name)
    if found:
        return found
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


class Background:
    """A helper process started now and measured when stopped (``stop``: SIGTERM, then its
    wall time since start, CPU time and peak RSS from ``wait4``), e.g. a Dask cluster that the
    measured command uses by address. ``first_line`` is the first line it printed."""

    def __init__(self, cmd: Sequence[str], *, env: Mapping[str, str | None] | None = None,
                 cwd: str | os.PathLike | None = None, ready_timeout: float = 120.0) -> None:
        full_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
        self.cmd = list(map(str, cmd))
        self._t0 = time.perf_counter()
        self._err = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"vwbench.bg.{os.getpid()}.{time.monotonic_ns()}.err",
                         "w+")  # a file, not a pipe: a chatty helper must never block on a full pipe
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=self._err, text=True,
                                     env=full_env, cwd=cwd)
        self.first_line = ""
        deadline = time.perf_counter() + ready_timeout
        while time.perf_counter() < deadline and self.proc.poll() is None:
            line = self.proc.stdout.readline()
            if line.strip():
                self.first_line = line.strip()
                break

    def stop(self, timeout: float = 60.0) -> Measurement:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        deadline = time.perf_counter() + timeout
        while True:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                self.proc.kill()
                pid, status, usage = os.wait4(self.proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - self._t0
        code = os.waitstatus_to_exitcode(status)
        self.proc.returncode = code
        self._err.seek(0)
        err = self._err.read()
        self._err.close()
        Path(self._err.name).unlink(missing_ok=True)
        return Measurement(self.cmd, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, code,
                           self.first_line, err[-4000:])
