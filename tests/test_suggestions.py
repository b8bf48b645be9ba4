"""Suggestions of real names ("Did you mean ...?") only for developers with a token."""

from __future__ import annotations

import httpx
import pytest

from app.main import create_app
from tests.conftest import GraphQLClient

TYPO_FIELD = "{ professionalz(first: 1) { totalCount } }"
TYPO_ARGUMENT = "{ professionals(frist: 1) { totalCount } }"
BAD_ENUM = "{ referrals(status: SENTT) { totalCount } }"


async def messages(client: GraphQLClient) -> list[str]:
    found = []
    for query, variables in ((TYPO_FIELD, None), (TYPO_ARGUMENT, None),
                             (BAD_ENUM, None)):
        response = await client.raw(query, variables)
        body = response.json()
        assert body["errors"], body
        found.append(body["errors"][0]["message"])
    return found


async def test_a_developer_with_a_token_gets_suggestions(gql):
    field, argument, enum = await messages(gql)
    # Other fields close to the typo (riskyProfessionals) may follow in the suggestion.
    assert "Did you mean 'professional'" in field and "'professionals'" in field
    assert "Did you mean 'first'?" in argument
    assert "Did you mean the enum value 'SENT'?" in enum


async def test_an_anonymous_caller_gets_none(as_):
    found = await messages(as_(None))
    assert found[0].startswith("Cannot query field 'professionalz' on type 'Query'")
    assert found[1].startswith("Unknown argument 'frist'")
    assert "SENTT" in found[2]
    for message in found:
        assert "Did you mean" not in message
        assert "'professional'" not in message and "'first'" not in message
        assert "'SENT'" not in message


@pytest.mark.parametrize("anonymous", [False, True])
async def test_production_gives_none_even_with_a_token(store, settings, gql, anonymous):
    app = create_app(settings.with_overrides(env="production"), store=store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as http:
        found = await messages(GraphQLClient(http, None if anonymous else gql.token))
    assert not [m for m in found if "Did you mean" in m]
    assert found[0].startswith("Cannot query field 'professionalz'")


async def test_the_shared_validation_cache_keeps_suggestions_for_developers(gql, as_):
    # The anonymous request strips its copy, not the cached error the next request gets.
    await messages(as_(None))
    assert "Did you mean" in (await messages(gql))[0]
