"""Killable worker processes that enforce the time and memory limits of an evaluation.

Each thread that runs limited evaluations owns one long-lived worker: a separate
Python process (``python -m metaopt.evaluation._sandbox``, its own session) that
imports scikit-learn once and then scores one request after another. The parent sends
a request over the worker's stdin and waits for the answer on a private pipe with a
deadline of ``time_limit`` plus a small grace period; past it, the whole process
group is terminated, then killed, and reaped (so no process is left behind), the
evaluation is recorded as ``"timeout"``, and the next request starts a fresh worker.

The worker itself stops between folds once ``time_limit`` has passed, so most
timeouts end without a kill. ``memory_limit`` is applied to the worker with
``RLIMIT_AS`` for the duration of each request, as that many MiB beyond the address
space the worker already uses (its loaded libraries): an allocation beyond it raises
``MemoryError`` inside the config's code, which is recorded as ``"error"``.

Why a subprocess and not ``multiprocessing``: evaluations also run inside loky and
Dask worker processes, which are daemonic and may not start ``multiprocessing``
children, and a fresh interpreter never inherits an OpenMP thread pool through
``fork`` (GNU OpenMP is not fork-safe). Requests and answers are pickled in memory
over pipes between two processes of the same installation; nothing is stored.
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metaopt.evaluation._engine import EstimatorFactory, _Checked, _Prepared
    from metaopt.evaluation._protocol import Protocol

__all__ = ["THREAD_ENV", "run_isolated", "shutdown_workers", "start_worker"]

#: Environment of every worker: one thread per numerical library.
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}

#: Seconds a fresh worker may take to import its libraries and report ready.
STARTUP_TIMEOUT = 180.0

_HEADER = struct.Struct("!Q")


class _Timeout(Exception):
    pass


def _grace(time_limit: float) -> float:
    """Extra seconds the parent waits past the limit for an answer in transit."""
    return min(5.0, 1.0 + 0.1 * time_limit)


# ----------------------------------------------------------------------- framing
def _send(fd: int, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Timeout
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise _Timeout
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("worker pipe closed")
        buf += chunk
    return bytes(buf)


def _recv(fd: int, deadline: float | None = None) -> Any:
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    return pickle.loads(_read_exact(fd, size, deadline))


# ------------------------------------------------------------------------ parent
class _Worker:
    """One worker process, owned by one thread of the parent."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr: Any = None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        env = {**os.environ, **THREAD_ENV, "PYTHONUNBUFFERED": "1"}
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "metaopt.evaluation._sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        _send(self.proc.stdin.fileno(), {"sys_path": list(sys.path)})
        try:
            ready = _recv(self.proc.stdout.fileno(), time.monotonic() + STARTUP_TIMEOUT)
        except (_Timeout, EOFError) as exc:
            tail = self.stderr_tail()
            self.kill()
            raise RuntimeError(f"evaluation worker did not start ({type(exc).__name__}): {tail}") from None
        if ready != "ready":  # pragma: no cover - protocol violation
            self.kill()
            raise RuntimeError(f"evaluation worker sent {ready!r} instead of 'ready'")

    def stderr_tail(self, n: int = 300) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - n))
            return self._stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def kill(self) -> None:
        """Terminate the worker's process group, then kill it; always reaps."""
        proc, self.proc = self.proc, None
        if proc is not None:
            for sig, wait in ((signal.SIGTERM, 1.0), (signal.SIGKILL, None)):
                if proc.poll() is not None:
                    break
                try:
                    os.killpg(proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            for stream in (proc.stdin, proc.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def call(self, request: dict[str, Any], wait: float | None) -> dict[str, Any]:
        """Send ``request``; the answer, or raise _Timeout / EOFError (worker gone)."""
        if not self.alive():
            self.start()
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        try:
            _send(self.proc.stdin.fileno(), request)
        except (BrokenPipeError, OSError) as exc:
            raise EOFError(str(exc)) from None
        deadline = None if wait is None else time.monotonic() + wait
        return _recv(self.proc.stdout.fileno(), deadline)


_local = threading.local()
_all_workers: weakref.WeakSet[_Worker] = weakref.WeakSet()


def _worker() -> _Worker:
    worker = getattr(_local, "worker", None)
    if worker is None:
        worker = _Worker()
        _local.worker = worker
        _all_workers.add(worker)
    return worker


def start_worker() -> float:
    """Start this thread's worker now, if it is not running; returns the seconds it took.

    A caller that derives a time limit from a budget calls this first, so that the
    limit does not have to pay for the worker's start-up (importing scikit-learn).
    """
    worker = _worker()
    if worker.alive():
        return 0.0
    started = time.monotonic()
    worker.start()
    return time.monotonic() - started


def current_worker_pid() -> int | None:
    """Pid of this thread's worker process, if one is running (for tests)."""
    worker = getattr(_local, "worker", None)
    return worker.pid if worker is not None and worker.alive() else None


def shutdown_workers() -> None:
    """Stop every worker process this process started (also run at exit)."""
    for worker in list(_all_workers):
        worker.kill()


atexit.register(shutdown_workers)


def run_isolated(
    prepared: _Prepared,
    checked: _Checked,
    protocol: Protocol,
    factory: EstimatorFactory | None,
) -> dict[str, Any]:
    """Run :func:`run_folds` in this thread's worker; enforce the limits.

    Returns the worker's outcome dict, or one with status ``"timeout"`` (worker killed)
    or ``"error"`` (worker died, e.g. killed by the system for memory).
    """
    from metaopt.evaluation._result import runtime_versions, truncate

    worker = _worker()
    request = {
        "prepared": prepared,
        "checked": checked,
        "protocol": protocol,
        "factory": factory,
    }
    limit = protocol.time_limit
    wait = None if limit is None else limit + _grace(limit)
    base = {"fold_scores": [], "fit_times": [], "predict_times": [], "device": "cpu"}
    try:
        return worker.call(request, wait)
    except _Timeout:
        worker.kill()
        return {
            **base,
            "status": "timeout",
            "message": f"time limit of {limit:g}s exceeded; the worker process was killed",
            "versions": runtime_versions(),
        }
    except (EOFError, pickle.UnpicklingError, RuntimeError) as exc:
        code = worker.proc.poll() if worker.proc is not None else None
        tail = worker.stderr_tail()
        worker.kill()
        how = f"exit code {code}" if code is not None and code >= 0 else f"signal {-code}" if code else type(exc).__name__
        return {
            **base,
            "status": "error",
            "message": truncate(f"WorkerDied: the evaluation worker stopped ({how}) {tail}".strip()),
            "versions": runtime_versions(),
        }


# ------------------------------------------------------------------------ worker
def _watch_parent(parent: int) -> None:
    """Exit when the parent process is gone (the worker must never outlive it)."""
    while True:
        if os.getppid() != parent:
            os._exit(3)
        time.sleep(0.5)


def _address_space() -> int:
    """Bytes of address space this process uses now (0 where unknown)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return 0


def _set_memory_limit(mib: int | None) -> Any:
    """Allow ``mib`` MiB of address space beyond what the worker already uses."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return None
    old = resource.getrlimit(resource.RLIMIT_AS)
    if mib is not None:
        soft = _address_space() + mib * 1024 * 1024
        hard = old[1]
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    return old


def _restore_memory_limit(old: Any) -> None:
    if old is not None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, old)


def _main() -> None:
    parent = os.getppid()
    inp = sys.stdin.buffer.fileno()
    out = os.dup(sys.stdout.buffer.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to stderr
    init = _recv(inp)
    sys.path[:] = init["sys_path"]
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()

    import sklearn.base  # noqa: F401  warm imports before reporting ready
    import sklearn.model_selection  # noqa: F401

    from metaopt.evaluation._engine import run_folds
    from metaopt.evaluation._result import runtime_versions, truncate

    _send(out, "ready")
    while True:
        try:
            (size,) = _HEADER.unpack(_read_exact(inp, _HEADER.size, None))
            data = _read_exact(inp, size, None)
        except EOFError:
            break
        old = None
        try:
            request = pickle.loads(data)
            protocol = request["protocol"]
            deadline = None if protocol.time_limit is None else time.monotonic() + protocol.time_limit
            old = _set_memory_limit(protocol.memory_limit)
            outcome = run_folds(request["prepared"], request["checked"], protocol, request["factory"], deadline)
        except BaseException as exc:  # noqa: BLE001 - report, then serve the next request
            outcome = {
                "status": "error",
                "message": truncate(f"{type(exc).__name__}: {exc}"),
                "fold_scores": [],
                "fit_times": [],
                "predict_times": [],
                "device": "cpu",
                "versions": runtime_versions(),
            }
        finally:
            _restore_memory_limit(old)
        del data
        _send(out, outcome)


if __name__ == "__main__":
    _main()
