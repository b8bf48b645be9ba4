"""Customers: rules, idempotent creates, and the list."""

from __future__ import annotations


async def test_create_and_read(gql, make):
    cid = await make.customer(name=" Alice Walker ", area="Riverside")
    data = await gql.data("query($id: ID!) { customer(id: $id) { id name area createdAt } }",
                          {"id": cid})
    assert data["customer"]["name"] == "Alice Walker"
    assert data["customer"]["area"] == "Riverside"
    assert data["customer"]["createdAt"].endswith("+00:00")


async def test_blank_name_is_rejected_and_nothing_written(make, uid, exists):
    cid = uid("cus")
    payload = await make.call("customer", id=cid, name=" ")
    assert payload["errors"][0]["code"] == "VALIDATION"
    assert payload["errors"][0]["field"] == ["input", "name"]
    assert payload["customer"] is None
    assert not await exists(cid)


async def test_idempotent_create_and_conflict(make, uid):
    cid = uid("cus")
    first = await make.ok("customer", id=cid, name="Bo Diaz")
    assert (await make.ok("customer", id=cid, name="Bo Diaz"))["customer"] == first["customer"]
    conflict = await make.call("customer", id=cid, name="Bo Diaz", area="Elsewhere")
    assert conflict["errors"][0]["code"] == "CONFLICT"


async def test_customers_list_walks_every_customer_once(gql, make):
    created = {await make.customer() for _ in range(3)}
    seen: list[str] = []
    after = None
    while True:
        data = await gql.data(
            "query($after: String) { customers(first: 100, after: $after) "
            "{ totalCount pageInfo { hasNextPage endCursor } nodes { id } } }",
            {"after": after},
        )
        page = data["customers"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert created <= set(seen)
    assert len(seen) == len(set(seen)) == page["totalCount"]
