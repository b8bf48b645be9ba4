"""The embedded Bolt server: data survives a restart, a crash is healed, a second process
attaches instead of fighting over the folder."""

from __future__ import annotations

import time

from graph.embedded import EmbeddedServer
from graph.professionals import NewProfessional, create_professional, professionals_by_ids
from graph.store import connect


async def test_data_survives_a_restart(tmp_data_dir):
    server = EmbeddedServer(tmp_data_dir)
    address = server.start()
    store = connect(address.uri, address.user, address.password, address.database)
    await store.ensure_schema()
    pro = await create_professional(store, NewProfessional(name="Kept", trades=["tiling"]))
    await store.close()
    server.stop()
    assert not (tmp_data_dir / "server.json").exists()

    again = EmbeddedServer(tmp_data_dir)
    address = again.start()
    store = connect(address.uri, address.user, address.password, address.database)
    try:
        assert await professionals_by_ids(store, [pro.id]) == [pro]
    finally:
        await store.close()
        again.stop()


async def test_a_crashed_server_is_restarted_and_a_second_process_attaches(tmp_data_dir):
    server = EmbeddedServer(tmp_data_dir)
    address = server.start()
    store = connect(address.uri, address.user, address.password, address.database)
    try:
        assert await store.ping()
        server.kill()
        deadline = time.monotonic() + 60
        while not await store.ping():
            assert time.monotonic() < deadline, "the watchdog did not restart the server"
            time.sleep(0.5)
        assert server.restarts == 1

        # Another process on the same folder (the seed command, say) uses the running server.
        other = EmbeddedServer(tmp_data_dir)
        assert other.start().uri == address.uri
        other.stop()
        assert await store.ping(), "an attached client must not stop the server"
    finally:
        await store.close()
        server.stop()
