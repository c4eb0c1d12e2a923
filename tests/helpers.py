"""Assertions shared by the API tests."""


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Every API error has the one shape of docs/architecture.md §9."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]
