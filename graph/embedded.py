"""The embedded Bolt server: ArcadeDB from the ``arcadedb-embedded`` wheel, run as a child process.

The service, the CLI and the test suite start it when no ``NEO4J_URI`` is set. It listens on
loopback only, keeps its data under a folder, is restarted by a watchdog thread if it dies, and is
stopped on exit. A second process pointed at the same folder (``referral-graph seed`` while the
service runs) attaches to the running server instead of starting another, which the folder's
lock would refuse anyway.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DATABASE = "referrals"
USER = "root"
START_TIMEOUT = 120.0
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedServer:
    """Start, supervise and stop the embedded Bolt server for one data folder.

    Use :meth:`start` and :meth:`stop`, or the instance as a context manager.
    """

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir).resolve()
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._attached = False
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

    def _password(self) -> str:
        if self._secret_file.exists():
            return self._secret_file.read_text().strip()
        password = secrets.token_urlsafe(24)
        self._secret_file.write_text(password)
        self._secret_file.chmod(0o600)
        return password

    def _running_elsewhere(self) -> dict[str, int] | None:
        try:
            state = json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return None
        pid, port = int(state.get("pid", 0)), int(state.get("bolt_port", 0))
        if pid and pid != os.getpid() and _pid_alive(pid) and _port_open(port):
            return state
        return None

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> BoltAddress:
        """Start the server (or attach to one already serving this folder) and wait until it
        answers Bolt queries. Returns where to connect."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password = self._password()
        running = self._running_elsewhere()
        if running is not None:
            self._attached = True
            self._bolt_port = int(running["bolt_port"])
            log.info("attached to the embedded store", extra={"bolt_port": self._bolt_port})
        else:
            self._http_port, self._bolt_port = _free_port(), _free_port()
            self._spawn(password)
            self._watchdog = threading.Thread(
                target=self._watch, name="embedded-store-watchdog", daemon=True
            )
            self._watchdog.start()
        self.address = BoltAddress(
            f"bolt://127.0.0.1:{self._bolt_port}", USER, password, DATABASE
        )
        return self.address

    def _spawn(self, password: str) -> None:
        root = self.data_dir / "arcadedb"
        root.mkdir(parents=True, exist_ok=True)
        logfile = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - owned by the child
        cmd = [
            sys.executable, "-m", "graph._embedded_main",
            str(root), DATABASE, str(self._http_port), str(self._bolt_port),
        ]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]
        )
        proc = subprocess.Popen(
            cmd, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=logfile,
            env=env, start_new_session=True,
        )
        logfile.close()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(password.encode() + b"\n")
        proc.stdin.close()
        deadline = time.monotonic() + START_TIMEOUT
        ready = False
        for raw in proc.stdout:
            if raw.strip() == b"READY":
                ready = True
                break
            if time.monotonic() > deadline:
                break
        if not ready:
            proc.kill()
            raise RuntimeError(
                f"the embedded store did not start; see {self.data_dir / 'server.log'}"
            )
        # Keep draining stdout so that the child never blocks on a full pipe.
        threading.Thread(target=self._drain, args=(proc,), daemon=True).start()
        self._proc = proc
        self._state_file.write_text(
            json.dumps({"pid": proc.pid, "bolt_port": self._bolt_port})
        )
        log.info("embedded store started", extra={"pid": proc.pid, "bolt_port": self._bolt_port})

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        with self.data_dir.joinpath("server.log").open("ab") as out:
            for raw in proc.stdout:
                out.write(raw)

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            with self._lock:
                proc = self._proc
                if proc is None or proc.poll() is None or self._stopping.is_set():
                    continue
                log.warning("embedded store exited; restarting", extra={"code": proc.returncode})
                try:
                    self._spawn(self._password())
                    self.restarts += 1
                except Exception:  # keep watching; the next tick tries again
                    log.exception("embedded store restart failed")

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
        self.kill()
        with self._lock:
            self._proc = None

    def resume(self) -> None:
        """Start the server again on the same port after :meth:`pause`."""
        self._stopping.clear()
        self._spawn(self._password())
        self._watchdog = threading.Thread(target=self._watch, daemon=True)
        self._watchdog.start()

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
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with contextlib.suppress(OSError):
            self._state_file.unlink()

    def stop(self) -> None:
        """Stop the server if this object started it (an attached server is left running)."""
        self._stopping.set()
        if self._watchdog is not None:
            self._watchdog.join()
        if not self._attached:
            self._terminate()

    def __enter__(self) -> BoltAddress:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
