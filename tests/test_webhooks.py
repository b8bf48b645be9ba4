"""Webhooks through the API: who may make, list, read and delete them (every refusal FORBIDDEN,
the same whether or not the object exists), bad input as typed errors with nothing written,
and the secret shown once and kept only encrypted."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLObjectType

from app.settings import Settings
from graph import webhooks
from graph.sealing import SecretBox, keys_of
from schema.build import build_schema
from tests.receivers import DELETE_WEBHOOK, DELIVERIES

URL = "https://93.184.215.14/referral-events"
LIST = """
query($owner: ID, $first: Int, $after: String) {
  webhooks(ownerId: $owner, first: $first, after: $after) {
    totalCount
    nodes { id url events ownerId active }
    pageInfo { hasNextPage endCursor }
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { ... on Webhook { id url ownerId events } } }"
PROPERTIES = "MATCH (w:Webhook {id: $id}) RETURN properties(w) AS p"
OWNED = "MATCH (w:Webhook {ownerKey: $owner}) RETURN count(w) AS n"


async def owned(store: Any, owner: str | None) -> int:
    rows = await store.read(OWNED, owner=webhooks.owner_key(owner))
    return int(rows[0]["n"])


def codes(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


# ---------------------------------------------------------------- createWebhook


async def test_a_professional_makes_its_own_webhook_and_sees_the_secret_once(
        make, as_, hooks, store, settings):
    pro = await make.professional()
    client = as_("professional", pro)
    payload = await hooks.create(client, URL, ["STATUS_CHANGED", "CREATED"], owner=pro)
    assert payload["errors"] == []
    hook, secret = payload["webhook"], payload["secret"]
    assert hook["id"].startswith("whk_") and hook["ownerId"] == pro and hook["active"]
    assert hook["url"] == URL and hook["events"] == ["CREATED", "STATUS_CHANGED"]
    assert secret.startswith("whsec_") and len(secret) > 40

    # The node holds no plain secret: only a sealed value that the key opens.
    [row] = await store.read(PROPERTIES, id=hook["id"])
    stored = row["p"]
    assert all(secret not in str(value) for value in stored.values())
    assert SecretBox(keys_of(settings.webhook_key)).open(stored["secret"]) == secret
    # Nothing in the API reads it again.
    read = await client.data(NODE, {"id": hook["id"]})
    assert read["node"] == {"id": hook["id"], "url": URL, "ownerId": pro,
                            "events": ["CREATED", "STATUS_CHANGED"]}


def test_no_type_of_the_schema_shows_a_webhook_secret():
    schema = build_schema(Settings())._schema
    shown = {name for name, t in schema.type_map.items() if isinstance(t, GraphQLObjectType)
             and "secret" in t.fields}
    assert shown == {"WebhookPayload"}


async def test_who_may_make_a_webhook_for_whom(make, as_, hooks, store, uid):
    pro, other = await make.professional(), await make.professional()
    net, foreign = await make.network(), await make.network()
    customer = await make.customer()
    ghost = uid("net")  # in the organiser's token, but no such network
    organiser = as_("organiser", "org_1", [net, ghost])
    allowed = [
        (as_("professional", pro), pro),
        (organiser, net),
        (as_("admin"), None),
        (as_("admin"), other),
        (as_("admin"), foreign),
    ]
    for client, owner in allowed:
        payload = await hooks.create(client, URL, owner=owner)
        assert payload["errors"] == [] and payload["webhook"]["ownerId"] == owner

    refused = [
        (as_("professional", pro), other),  # another professional's
        (as_("professional", pro), None),  # platform-wide: admins only
        (as_("professional", pro), net),  # a network it does not organise
        (organiser, foreign),
        (organiser, None),
        (organiser, ghost),
        (as_("organiser", "org_2", [uid("net")]), uid("net")),
        (as_("customer", customer), None),
        (as_("professional", uid("pro")), uid("pro")),  # a token for no one
    ]
    for client, owner in refused:
        before = await owned(store, owner)
        payload = await hooks.create(client, URL, owner=owner)
        assert payload["webhook"] is None and payload["secret"] is None
        assert codes(payload) == [("FORBIDDEN", ["input", "ownerId"])], owner
        assert payload["errors"][0]["message"] == "not allowed"
        assert await owned(store, owner) == before


async def test_a_refusal_comes_before_any_check_of_the_input(make, as_, hooks):
    pro, other = await make.professional(), await make.professional()
    payload = await hooks.create(as_("professional", pro), "ftp://nowhere", [], owner=other)
    assert codes(payload) == [("FORBIDDEN", ["input", "ownerId"])]


@pytest.mark.parametrize(("url", "events", "field"), [
    ("http://93.184.215.14/x", None, "url"),  # plain http
    ("not a url", None, "url"),
    ("https:///no-host", None, "url"),
    ("https://user:pw@93.184.215.14/x", None, "url"),
    ("https://127.0.0.1/x", None, "url"),
    ("https://" + "a" * 2050 + ".example/", None, "url"),
    (URL, [], "events"),
])
async def test_bad_input_is_a_typed_error_and_nothing_is_written(make, as_, hooks, store, url,
                                                                 events, field):
    pro = await make.professional()
    payload = await hooks.create(as_("professional", pro), url, events, owner=pro)
    assert codes(payload) == [("VALIDATION", ["input", field])]
    assert payload["webhook"] is None and payload["secret"] is None
    assert await owned(store, pro) == 0


async def test_an_owner_must_be_a_professional_a_network_or_none(make, gql, hooks, uid):
    customer = await make.customer()
    payload = await hooks.create(gql, URL, owner=customer)
    assert codes(payload) == [("VALIDATION", ["input", "ownerId"])]
    # An admin learns that an owner does not exist; anyone else is refused (above).
    payload = await hooks.create(gql, URL, owner=uid("pro"))
    assert codes(payload) == [("NOT_FOUND", ["input", "ownerId"])]


async def test_an_owner_has_a_bounded_number_of_webhooks(make, gql, hooks, store):
    pro = await make.professional()
    for _ in range(webhooks.MAX_PER_OWNER):
        await hooks.ok(gql, URL, owner=pro)
    payload = await hooks.create(gql, URL, owner=pro)
    assert codes(payload) == [("VALIDATION", ["input", "ownerId"])]
    assert await owned(store, pro) == webhooks.MAX_PER_OWNER


# ---------------------------------------------------------------- reading them


async def test_webhooks_lists_an_owners_webhooks_to_those_who_manage_it(make, as_, gql, hooks):
    pro, other = await make.professional(), await make.professional()
    net = await make.network()
    mine = [(await hooks.ok(gql, URL, owner=pro))[0] for _ in range(3)]
    theirs, _ = await hooks.ok(gql, URL, owner=net)
    professional = as_("professional", pro)

    for owner in (pro, None):  # its own, named or not
        page = (await professional.data(LIST, {"owner": owner}))["webhooks"]
        assert [n["id"] for n in page["nodes"]] == mine and page["totalCount"] == 3
    first = (await professional.data(LIST, {"first": 2}))["webhooks"]
    assert [n["id"] for n in first["nodes"]] == mine[:2] and first["pageInfo"]["hasNextPage"]
    rest = (await professional.data(LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]}
                                    ))["webhooks"]
    assert [n["id"] for n in rest["nodes"]] == mine[2:] and not rest["pageInfo"]["hasNextPage"]

    organiser = as_("organiser", "org_1", [net])
    for owner in (net, None):
        page = (await organiser.data(LIST, {"owner": owner}))["webhooks"]
        assert [n["id"] for n in page["nodes"]] == [theirs]
    assert [n["id"] for n in (await gql.data(LIST, {"owner": pro}))["webhooks"]["nodes"]] == mine

    for client, owner in ((professional, other), (professional, net), (organiser, pro),
                          (as_("professional", other), pro), (as_("customer", "cus_1"), None)):
        body = await client.post(LIST, {"owner": owner})
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_admin_lists_the_platform_wide_webhooks(gql, hooks):
    made, _ = await hooks.ok(gql, URL)
    page = (await gql.data(LIST, {"first": 100}))["webhooks"]
    assert made in [n["id"] for n in page["nodes"]]
    assert all(n["ownerId"] is None for n in page["nodes"])


async def test_page_arguments_of_webhooks_and_deliveries_are_checked(gql, hooks):
    body = await gql.post(LIST, {"first": 0})
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "limit": "first"}
    body = await gql.post(LIST, {"after": "nope"})
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "argument": "after"}
    made, _ = await hooks.ok(gql, URL)
    body = await gql.post("query($id: ID!) { node(id: $id) { ... on Webhook { "
                          "deliveries(first: 101) { totalCount } } } }", {"id": made})
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "limit": "first"}


async def test_a_webhook_by_id_for_those_who_manage_it_only(make, as_, gql, hooks, uid):
    pro, other = await make.professional(), await make.professional()
    made, _ = await hooks.ok(gql, URL, owner=pro)
    assert (await as_("professional", pro).data(NODE, {"id": made}))["node"]["id"] == made
    assert (await as_("professional", pro).data(DELIVERIES, {"id": made}))["node"][
        "deliveries"] == {"totalCount": 0, "nodes": []}
    missing = uid("whk")
    for client, wanted in ((as_("professional", other), made), (as_("professional", pro), missing),
                           (as_("organiser", "org_1", [uid("net")]), made),
                           (as_("customer", "cus_1"), made)):
        body = await client.post(NODE, {"id": wanted})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert body["errors"][0]["message"] == "not allowed"
    assert (await gql.data(NODE, {"id": missing}))["node"] is None


# ---------------------------------------------------------------- deleteWebhook


async def test_deleting_a_webhook_by_its_owner_and_refusals(make, as_, gql, hooks, store, uid):
    pro, other = await make.professional(), await make.professional()
    made, _ = await hooks.ok(gql, URL, owner=pro)
    for client, wanted in ((as_("professional", other), made),
                           (as_("professional", other), uid("whk")),
                           (as_("organiser", "org_1", [uid("net")]), made)):
        payload = (await client.data(DELETE_WEBHOOK, {"id": wanted}))["deleteWebhook"]
        assert payload == {"deletedId": None, "errors": [
            {"code": "FORBIDDEN", "message": "not allowed", "field": ["id"]}]}
    assert (await as_("professional", pro).data(NODE, {"id": made}))["node"]["id"] == made

    owner = as_("professional", pro)
    done = (await owner.data(DELETE_WEBHOOK, {"id": made}))["deleteWebhook"]
    assert done == {"deletedId": made, "errors": []}
    assert (await owner.data(LIST, {}))["webhooks"]["totalCount"] == 0
    assert (await gql.data(NODE, {"id": made}))["node"] is None
    # Gone: its owner is refused like anyone, an admin told it is not found.
    again = (await owner.data(DELETE_WEBHOOK, {"id": made}))["deleteWebhook"]
    assert codes(again) == [("FORBIDDEN", ["id"])]
    again = (await gql.data(DELETE_WEBHOOK, {"id": made}))["deleteWebhook"]
    assert codes(again) == [("NOT_FOUND", ["id"])]
    bad = (await gql.data(DELETE_WEBHOOK, {"id": "pro_1"}))["deleteWebhook"]
    assert codes(bad) == [("VALIDATION", ["id"])]
    # The purge takes the node away with its deliveries.
    await webhooks.purge(store)
    assert await store.read(PROPERTIES, id=made) == []


async def test_an_organiser_deletes_its_networks_webhook(make, as_, gql, hooks):
    net = await make.network()
    made, _ = await hooks.ok(gql, URL, owner=net)
    organiser = as_("organiser", "org_1", [net])
    done = (await organiser.data(DELETE_WEBHOOK, {"id": made}))["deleteWebhook"]
    assert done == {"deletedId": made, "errors": []}
