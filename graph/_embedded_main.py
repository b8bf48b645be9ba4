"""Child-process entry point of the embedded Bolt server.

ArcadeDB runs inside a JVM loaded through JPype; it lives in a process of its own so that the
service's event loop and threads never touch the JVM. Usage::

    python -m graph._embedded_main ROOT DATABASE HTTP_PORT BOLT_PORT

The root password comes on standard input, so that it never shows in a process listing. The
parent then keeps that pipe open for as long as it wants the server: end of file on standard
input (the parent closed it, or died in any way, even ``kill -9``, and the kernel closed it) stops
the server and ends this process, so that the store never outlives the service.

Every ``WAL_ROTATE_SECONDS`` the process retires the database's write-ahead log files and starts
new ones. ArcadeDB itself retires a WAL file only at 64 MB or at close, so without this an erased
customer's name would stay in the log, on disk, until the next restart. A retired file is deleted
by ArcadeDB's own housekeeping (every second) once all its pages have reached the data files,
where the erasure has already overwritten the record.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
from pathlib import Path
from typing import Any

# Signals that stop the server; blocked in the main thread, which waits for them with sigwait.
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
PARENT_CHECK_SECONDS = 1.0
# Once the parent is gone, the server gets this long to close its files before the process ends
# regardless: nobody is left to kill it.
ORPHAN_GRACE_SECONDS = 15.0


def _watch_parent(parent: int, main_thread: int, stdin: int) -> None:
    """Wait for end of file on standard input or a change of parent, then stop the server.

    The pipe is the main signal. The parent-pid check is a second line for a pipe that some other
    process inherited by accident (a bare ``fork`` in the parent) and so never reaches end of
    file. ``prctl(PR_SET_PDEATHSIG)`` would not do here: it fires when the *thread* that started
    this process ends, and the service starts the store from worker threads (start-up, the
    watchdog's restarts) that may end while the service lives on.
    """
    while True:
        ready, _, _ = select.select([stdin], [], [], PARENT_CHECK_SECONDS)
        if ready and not os.read(stdin, 4096):
            break
        if os.getppid() != parent:
            break
    signal.pthread_kill(main_thread, signal.SIGTERM)
    threading.Timer(ORPHAN_GRACE_SECONDS, os._exit, args=(1,)).start()

WAL_ROTATE_SECONDS = 15.0
WAL_PATTERN = "txlog_*.wal"
WAL_HEADER = 0  # bytes in a WAL file that has no transaction yet


class WalRotator:
    """Retires the active WAL files of one database when they hold transactions.

    ArcadeDB has no public call for this; the rotation its tests use is reached by reflection,
    under the same maintenance lock as ArcadeDB's own rotation at 64 MB, so that it never runs
    beside that housekeeping. If a later ArcadeDB lacks it, the rotator says so once and stops.
    """

    def __init__(self, java_db: Any, folder: Path) -> None:
        self.folder = folder
        self.enabled = True
        manager = java_db.getEmbedded().getTransactionManager()
        cls = manager.getClass()
        lock_field = cls.getDeclaredField("walMaintenanceLock")
        lock_field.setAccessible(True)
        self._rotate = cls.getDeclaredMethod("rotateAndDropWALForTesting")
        self._rotate.setAccessible(True)
        self._lock = lock_field.get(manager)
        self._manager = manager

    def _dirty(self) -> bool:
        for path in self.folder.glob(WAL_PATTERN):
            with contextlib.suppress(OSError):  # ArcadeDB may drop the file meanwhile
                if path.stat().st_size > WAL_HEADER:
                    return True
        return False

    def tick(self) -> None:
        if not self.enabled or not self._dirty():
            return
        if not self._lock.tryLock():
            return  # ArcadeDB's housekeeping runs now; try at the next tick
        try:
            self._rotate.invoke(self._manager)
        except Exception as exc:  # the store keeps serving; only the early cleanup is lost
            self.enabled = False
            print(f"WAL rotation disabled: {exc}", file=sys.stderr, flush=True)
        finally:
            self._lock.unlock()


def main(argv: list[str]) -> int:
    root, database, http_port, bolt_port = argv[0], argv[1], int(argv[2]), int(argv[3])
    parent = os.getppid()
    # Blocked before the watcher starts, so that its signal waits for sigwait below even when
    # the parent goes while the server is still starting.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    stdin = sys.stdin.fileno()
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(stdin, 1)
        if not chunk:
            return 1  # the parent went before sending the password
        line += chunk
    password = line.decode().strip()
    threading.Thread(
        target=_watch_parent, args=(parent, threading.get_ident(), stdin),
        name="parent-watch", daemon=True,
    ).start()

    from arcadedb_embedded.server import ArcadeDBServer

    server = ArcadeDBServer(
        root_path=root,
        root_password=password,
        config={
            "host": "127.0.0.1",
            "http_port": http_port,
            "server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "bolt_port": bolt_port,
        },
    )
    # Starting the JVM may have unblocked the signals in this thread again.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    server.start()
    db = server.create_database(database)  # creates it only when missing
    rotator: WalRotator | None
    try:
        rotator = WalRotator(db._java_db, Path(root) / "databases" / database)
    except Exception as exc:
        rotator = None
        print(f"WAL rotation unavailable: {exc}", file=sys.stderr, flush=True)
    print("READY", flush=True)
    while signal.sigtimedwait(STOP_SIGNALS, WAL_ROTATE_SECONDS) is None:
        if rotator is not None:
            rotator.tick()
    server.stop()
    # The JVM's own threads must not keep the process alive once the server has stopped.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
