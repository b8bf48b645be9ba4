"""node(id) resolves all five types."""

from __future__ import annotations

NODE = """
query($id: ID!) { node(id: $id) { __typename id } }
"""


async def test_node_resolves_every_type(gql, make):
    pro = await make.professional()
    cus = await make.customer()
    referee = await make.customer()
    job = await make.job(cus, pro)
    ref = await make.referral(cus, pro, referee)
    net = await make.network()
    for node_id, typename in [(pro, "Professional"), (cus, "Customer"), (job, "Job"),
                              (ref, "Referral"), (net, "Network")]:
        data = await gql.data(NODE, {"id": node_id})
        assert data["node"] == {"__typename": typename, "id": node_id}


async def test_unknown_or_malformed_ids_are_null(gql, uid):
    for node_id in [uid("pro"), "nonsense", "xyz_123", ""]:
        assert (await gql.data(NODE, {"id": node_id}))["node"] is None
