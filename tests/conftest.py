import pytest
import redis as redis_lib
from django.conf import settings
from rest_framework.test import APIClient

from portfolio.audit import ledger_audit
from tests.factories import DEFAULT_PASSWORD, StockFactory, UserFactory, open_account_for


@pytest.fixture(autouse=True)
def _fresh_stock_cache():
    """Stocks made by one test are not served from the process's stock cache to the next."""
    from marketdata.selectors import stock_cache_clear

    stock_cache_clear()
    yield
    stock_cache_clear()


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with an empty Redis test database (throttles, prices, channels)."""
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield
    client.close()


@pytest.fixture(autouse=True)
def _ledger_invariants(request):
    """After every test that touched the database, the ledger invariants of docs/architecture.md §4 hold."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db", "live_server"} & set(
        request.fixturenames
    )
    if not uses_db or request.node.get_closest_marker("corrupts_ledger"):
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up before us, so torn down after the audit
    yield
    violations, _, _ = ledger_audit()
    assert not violations, "ledger invariants broken:\n" + "\n".join(map(str, violations))


@pytest.fixture
def redis_client():
    client = redis_lib.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user(db):
    """A registered user with an open paper account (STARTING_CASH), as registration leaves it."""
    user = UserFactory()
    open_account_for(user)
    return user


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def auth_client(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def jwt_client(api_client, user, password):
    """A client holding a real access token obtained through the API."""
    response = api_client.post("/api/v1/auth/token", {"username": user.username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    api_client.tokens = response.json()
    return api_client


@pytest.fixture
def samsung(db):
    return StockFactory(
        code="A005930", name="삼성전자", name_en="Samsung Electronics", market="KOSPI", market_cap_rank=1
    )


@pytest.fixture
def hynix(db):
    return StockFactory(code="A000660", name="SK하이닉스", name_en="SK hynix", market="KOSPI", market_cap_rank=2)


@pytest.fixture
def store_price():
    """Write a tick into the price store in the relay's format."""
    from marketdata.prices import store_tick

    def store(code, close, *, base=None, received_at=None, volume=1000):
        store_tick(
            {
                "code": code,
                "close": close,
                "base": base if base is not None else close,
                "volume": volume,
                "cumulativeVolume": volume,
                "dt": "2026-11-25T01:00:00Z",
                "session": "REGULAR",
                "currency": "KRW",
            },
            received_at=received_at,
        )

    return store
