from tests.conftest import gql, token


async def test_expenses_page(client, world):
    data = await gql(
        client,
        "{ viewer { credential business { name homeCurrency } member { email role } }"
        " expenses(first: 3) { totalCount edges { cursor node { id merchantName amount { amount currency }"
        " homeAmount { amount currency } member { name } team { name } card { last4 } category { name glCode }"
        " receipts { fileName } events { action actor { name } } policyViolations { code } receiptMissing } } pageInfo { hasNextPage endCursor } } }",
        as_=token(world.a, "admin"),
    )
    print(data)
    assert data["viewer"]["business"]["name"] == "Alpha Ltd"
