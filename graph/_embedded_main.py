"""Child-process entry point of the embedded Bolt server.

ArcadeDB runs inside a JVM loaded through JPype; it lives in a process of its own so that the
service's event loop and threads never touch the JVM. Usage::

    python -m graph._embedded_main ROOT DATABASE HTTP_PORT BOLT_PORT

The root password comes on standard input, so that it never shows in a process listing.

Every ``WAL_ROTATE_SECONDS`` the process retires the database's write-ahead log files and starts
new ones. ArcadeDB itself retires a WAL file only at 64 MB or at close, so without this an erased
customer's name would stay in the log, on disk, until the next restart. A retired file is deleted
by ArcadeDB's own housekeeping (every second) once all its pages have reached the data files,
where the erasure has already overwritten the record.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

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
    password = sys.stdin.readline().strip()
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
    stop = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    server.start()
    db = server.create_database(database)  # creates it only when missing
    rotator: WalRotator | None
    try:
        rotator = WalRotator(db._java_db, Path(root) / "databases" / database)
    except Exception as exc:
        rotator = None
        print(f"WAL rotation unavailable: {exc}", file=sys.stderr, flush=True)
    print("READY", flush=True)
    while signal.sigtimedwait(stop, WAL_ROTATE_SECONDS) is None:
        if rotator is not None:
            rotator.tick()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
