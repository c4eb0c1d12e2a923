import pytest
import redis as redis_lib
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, StockFactory, UserFactory


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with an empty Redis test database (throttles, prices, channels)."""
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield
    client.close()


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
    return UserFactory()


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
