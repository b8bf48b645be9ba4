from __future__ import annotations

CREATE = """
mutation($input: CreateProfessionalInput!) {
  createProfessional(input: $input) { professional { id name trades area networks { id } }
    errors { code message field } }
}
"""


async def test_create_and_read_professional(gql, uid):
    pid = uid("pro")
    data = await gql.data(CREATE, {"input": {"id": pid, "name": " Ada ", "trades": ["Plumbing"]}})
    assert data["createProfessional"]["errors"] == []
    assert data["createProfessional"]["professional"]["name"] == "Ada"
    got = await gql.data("query($id: ID!) { node(id: $id) { id ... on Professional { trades } } }",
                         {"id": pid})
    assert got["node"] == {"id": pid, "trades": ["plumbing"]}
