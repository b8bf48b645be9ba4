"""``NEO4J_URI=neo4j://...``: the routing driver against the suite's store (a single member
answers routing requests with itself), and reads that follow this process's writes."""

from __future__ import annotations

from graph.ids import new_id
from graph.store import connect

MAKE = "CREATE (:RoutingProbe {id: $id, n: $n})"
READ = "MATCH (p:RoutingProbe {id: $id}) RETURN p.n AS n"
DROP = "MATCH (p:RoutingProbe {id: $id}) DELETE p"


async def test_a_routing_uri_reads_what_this_process_just_wrote(bolt):
    uri = "neo4j://" + bolt.uri.partition("://")[2]
    store = connect(uri, bolt.user, bolt.password, bolt.database)
    probe = new_id("tst")
    try:
        for n in range(3):
            if n == 0:
                await store.run_write(MAKE, id=probe, n=n)
            else:
                await store.run_write("MATCH (p:RoutingProbe {id: $id}) SET p.n = $n",
                                      id=probe, n=n)
            # The read carries the bookmark of the write before it.
            assert await store.read(READ, id=probe) == [{"n": n}]
        assert await store.ping()
    finally:
        await store.run_write(DROP, id=probe)
        await store.close()
