"""Child-process entry point of the embedded Bolt server.

ArcadeDB runs inside a JVM loaded through JPype; it lives in a process of its own so that the
service's event loop and threads never touch the JVM. Usage::

    python -m graph._embedded_main ROOT DATABASE HTTP_PORT BOLT_PORT

The root password comes on standard input, so that it never shows in a process listing.
"""

from __future__ import annotations

import signal
import sys


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
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    server.start()
    server.create_database(database)  # creates it only when missing
    print("READY", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
