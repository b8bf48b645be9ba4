"""The embedded Bolt server: ArcadeDB from the ``arcadedb-embedded`` wheel, run as a child process.

The service, the CLI and the test suite start it when no ``NEO4J_URI`` is set. It listens on
loopback only and keeps its data under a folder. A second process pointed at the same folder
(``referral-graph seed`` while the service runs, a second ``serve``) attaches to the running
server instead of starting another, which the folder's lock would refuse anyway.

The server never outlives the processes that use it:

- The child reads its password from a pipe that the parent keeps open for the child's whole life;
  when the parent ends, however it ends (``kill -9`` included), the kernel closes the pipe and the
  child stops the server and exits.
- Every process using the folder, the one that started the server and those that attached, runs a
  watchdog. The starter restarts its child if it dies; an attached process whose server went
  away (its starter died or stopped) starts a new one. A lock file lets one process at a time
  decide and start, and a restart keeps the ports recorded in ``server.json``, so that drivers
  already pointed at the server reconnect by themselves.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DATABASE = "referrals"
USER = "root"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
WATCH_SECONDS = 1.0
CHILD_MODULE = "graph._embedded_main"
FREEZE_TIMEOUT = 5.0


@dataclass(frozen=True)
class BoltAddress:
    uri: str
    user: str
    password: str
    database: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _stopped(task: Path) -> bool:
    """Whether a thread (``/proc/PID/task/TID``) is stopped by a signal: state T."""
    return (task / "stat").read_text().rpartition(")")[2].split()[0] == "T"


def store_process_alive(pid: int) -> bool:
    """Whether ``pid`` is a live embedded store process.

    A process that exited but was not reaped yet (a zombie: its parent died and the machine's
    init may take its time) counts as gone, and so does a recycled pid running something else.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    proc = Path("/proc") / str(pid)
    if not proc.exists():
        return True  # no /proc to look closer; the signal check has to do
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes()
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()[0]
    return state not in ("Z", "X") and CHILD_MODULE.encode() in cmdline


class EmbeddedServer:
    """Start (or attach to), supervise and stop the embedded Bolt server for one data folder.

    Use :meth:`start` and :meth:`stop`, or the instance as a context manager. :attr:`restarts`
    counts the servers this object started after the first: its own child's restarts and
    take-overs of a server whose starter went away.
    """

    def __init__(self, data_dir: Path | str, *, take_over: bool = True) -> None:
        # take_over=False: a worker process whose parent supervises the server. Its watchdog
        # leaves starting a new server to the parent (and follows it to its port), so that
        # the parent, whose end takes the server with it, stays the one that runs it.
        self.data_dir = Path(data_dir).resolve()
        self.take_over = take_over
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.restarts = 0
        self.address: BoltAddress | None = None
        self._http_port = 0
        self._bolt_port = 0

    # -- files kept in the data folder -------------------------------------------------------
    @property
    def _secret_file(self) -> Path:
        return self.data_dir / "bolt-secret"

    @property
    def _state_file(self) -> Path:
        return self.data_dir / "server.json"

    @property
    def pid(self) -> int | None:
        """The pid of the server process this object started, if it runs one now."""
        proc = self._proc
        return proc.pid if proc is not None else None

    @property
    def attached(self) -> bool:
        """True while this object uses a server that another process started."""
        return self._proc is None and self.address is not None

    def _password(self) -> str:
        if self._secret_file.exists():
            return self._secret_file.read_text().strip()
        password = secrets.token_urlsafe(24)
        self._secret_file.write_text(password)
        self._secret_file.chmod(0o600)
        return password

    def _state(self) -> dict[str, Any]:
        try:
            state = json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self, pid: int) -> None:
        state = {"pid": pid, "bolt_port": self._bolt_port, "http_port": self._http_port}
        partial = self._state_file.with_suffix(".json.partial")
        partial.write_text(json.dumps(state))
        partial.replace(self._state_file)  # readers never see half a file

    def _running_elsewhere(self) -> dict[str, Any] | None:
        state = self._state()
        pid, port = int(state.get("pid", 0)), int(state.get("bolt_port", 0))
        if pid != self.pid and store_process_alive(pid) and _port_open(port):
            return state
        return None

    @contextlib.contextmanager
    def _folder_lock(self) -> Iterator[None]:
        """Held while deciding whether to start a server and starting it: of several processes
        finding the folder without a server at once, one starts it and the others attach."""
        with (self.data_dir / "server.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> BoltAddress:
        """Start the server (or attach to one already serving this folder) and wait until it
        answers Bolt queries. Returns where to connect."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password = self._password()
        self._stopping.clear()
        with self._folder_lock():
            running = self._running_elsewhere()
            if running is not None:
                self._attach(running)
            else:
                self._http_port, self._bolt_port = _free_port(), _free_port()
                self._spawn(password)
        self.address = BoltAddress(
            f"bolt://127.0.0.1:{self._bolt_port}", USER, password, DATABASE
        )
        self._start_watchdog()
        return self.address

    def _attach(self, state: dict[str, Any]) -> None:
        bolt_port = int(state["bolt_port"])
        if self._bolt_port and bolt_port != self._bolt_port:
            # Only an older version of this module restarts on other ports.
            log.error("the embedded store moved to another port", extra={"bolt_port": bolt_port})
        self._bolt_port = bolt_port
        self._http_port = int(state.get("http_port") or 0) or self._http_port or _free_port()
        log.info("attached to the embedded store",
                 extra={"pid": state.get("pid"), "bolt_port": self._bolt_port})

    def _start_watchdog(self) -> None:
        self._watchdog = threading.Thread(
            target=self._watch, name="embedded-store-watchdog", daemon=True
        )
        self._watchdog.start()

    def _spawn(self, password: str) -> None:
        root = self.data_dir / "arcadedb"
        root.mkdir(parents=True, exist_ok=True)
        logfile = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - owned by the child
        cmd = [
            sys.executable, "-m", CHILD_MODULE,
            str(root), DATABASE, str(self._http_port), str(self._bolt_port),
        ]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]
        )
        # A session of its own: a Ctrl-C in the terminal reaches the service, which then stops
        # the store in order. The stdin pipe stays open: its end is the child's signal to stop.
        proc = subprocess.Popen(
            cmd, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=logfile,
            env=env, start_new_session=True,
        )
        logfile.close()
        try:
            assert proc.stdin is not None
            proc.stdin.write(password.encode() + b"\n")
            proc.stdin.flush()
            if not self._await_ready(proc):
                raise RuntimeError(
                    f"the embedded store did not start; see {self.data_dir / 'server.log'}"
                )
        except BaseException:  # a failed start, or Ctrl-C while waiting: no child left behind
            _kill(proc)
            raise
        # Keep draining stdout so that the child never blocks on a full pipe.
        threading.Thread(target=self._drain, args=(proc,), daemon=True).start()
        self._proc = proc
        self._write_state(proc.pid)
        log.info("embedded store started", extra={"pid": proc.pid, "bolt_port": self._bolt_port})

    @staticmethod
    def _await_ready(proc: subprocess.Popen[bytes]) -> bool:
        """Read the child's output until it says READY, exits, or the start times out."""
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + START_TIMEOUT
        seen = b""
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                return False  # the child exited
            seen += chunk
            if b"READY\n" in seen:
                return True
        return False

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        with self.data_dir.joinpath("server.log").open("ab") as out:
            while chunk := os.read(fd, 4096):
                out.write(chunk)

    def _watch(self) -> None:
        while not self._stopping.wait(WATCH_SECONDS):
            try:
                self._check()
            except Exception:  # keep watching; the next tick tries again
                log.exception("embedded store restart failed")

    def _check(self) -> None:
        """One watchdog tick: restart or take over a server that went away."""
        with self._lock:
            if self._stopping.is_set():
                return
            proc = self._proc
            if proc is not None:
                if proc.poll() is None:
                    return
                log.warning("embedded store exited; restarting", extra={"code": proc.returncode})
                _kill(proc)
                self._proc = None
            else:
                pid = int(self._state().get("pid", 0))
                if store_process_alive(pid):
                    return  # the process that started it supervises it
                if not self.take_over:
                    running = self._running_elsewhere()
                    if running is not None:
                        self._attach(running)
                    return
                log.warning("the embedded store this process attached to is gone; starting it")
            with self._folder_lock():
                running = self._running_elsewhere()
                if running is not None:  # another process on the folder was quicker
                    self._attach(running)
                    return
                self._spawn(self._password())
                self.restarts += 1

    def kill(self) -> None:
        """Kill the server process abruptly (for fault tests); the watchdog restarts it."""
        with self._lock:
            if self._proc is not None:
                self._proc.kill()
                self._proc.wait()

    def pause(self) -> None:
        """Kill the server and keep it down until :meth:`resume` (for fault tests)."""
        self._stopping.set()
        if self._watchdog is not None:
            self._watchdog.join()
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            _kill(proc)

    def resume(self) -> None:
        """Start the server again on the same port after :meth:`pause`."""
        self._stopping.clear()
        with self._folder_lock():
            self._spawn(self._password())
        self._start_watchdog()

    def freeze(self) -> None:
        """Stop the server process where it stands (SIGSTOP), for fault tests: its sockets stay
        open and accept connections, but nothing answers, as with a hung store. The watchdog
        sees a live process and leaves it be; :meth:`thaw` lets it run on."""
        pid = self._signal(signal.SIGSTOP)
        # The stop reaches each thread when it next runs; wait until all have stopped, so that
        # the caller's next request meets a frozen server.
        threads = Path(f"/proc/{pid}/task")
        deadline = time.monotonic() + FREEZE_TIMEOUT
        while threads.is_dir() and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if all(_stopped(t) for t in threads.iterdir()):
                    return
            time.sleep(0.01)

    def thaw(self) -> None:
        """Let a frozen server run on (SIGCONT)."""
        self._signal(signal.SIGCONT)

    def _signal(self, sig: signal.Signals) -> int:
        with self._lock:
            if self._proc is None:
                raise RuntimeError("no server process of this object's own to signal")
            self._proc.send_signal(sig)
            return self._proc.pid

    def _terminate(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            # End of file on its stdin is the child's one signal to stop. No SIGTERM on top: the
            # JVM hands a SIGTERM to one of its own threads, and JPype's handler there crashes
            # the process when it meets the interpreter shutting down.
            assert proc.stdin is not None
            with contextlib.suppress(OSError):
                proc.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=STOP_TIMEOUT)
        _kill(proc)
        if int(self._state().get("pid", 0)) == proc.pid:
            with contextlib.suppress(OSError):
                self._state_file.unlink()

    def stop(self) -> None:
        """Stop the server if this object runs it now; an attached server is left running."""
        self._stopping.set()
        if self._watchdog is not None and self._watchdog is not threading.current_thread():
            self._watchdog.join()
        self._terminate()

    def __enter__(self) -> BoltAddress:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Make sure ``proc`` has ended, and release its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
