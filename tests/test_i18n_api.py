"""API and WebSocket error messages follow the language asked for (docs/architecture.md §14): Korean by default, English
with Accept-Language: en; the error `code` never changes."""

import pytest
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from stocking.asgi import application
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

WITHDRAW = "/api/v1/portfolio/withdraw"


def withdraw_too_much(client, **headers):
    return client.post(WITHDRAW, {"amount": 10_000_001}, format="json", **headers)


def test_a_domain_error_answers_in_korean_by_default_and_in_english_when_asked(jwt_client):
    default = assert_error(withdraw_too_much(jwt_client), 409, "insufficient_funds")
    korean = assert_error(withdraw_too_much(jwt_client, HTTP_ACCEPT_LANGUAGE="ko"), 409, "insufficient_funds")
    english = assert_error(withdraw_too_much(jwt_client, HTTP_ACCEPT_LANGUAGE="en"), 409, "insufficient_funds")
    assert default["message"] == korean["message"] == "지금은 최대 10,000,000원까지 출금할 수 있습니다."
    assert english["message"] == "You can withdraw at most 10,000,000 won now."
    assert default["details"] == english["details"] == {"withdrawable_cash": 10_000_000, "requested": 10_000_001}


def test_an_unknown_language_falls_back_to_korean(jwt_client):
    response = withdraw_too_much(jwt_client, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    error = assert_error(response, 409, "insufficient_funds")
    assert error["message"] == "지금은 최대 10,000,000원까지 출금할 수 있습니다."


def test_a_price_off_the_tick_grid_names_the_nearest_prices_in_either_language(jwt_client, samsung, store_price):
    store_price("A005930", 70_000, base=69_000)
    body = {"stock_code": "A005930", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": 70_050}
    korean = assert_error(jwt_client.post("/api/v1/trading/orders", body, format="json"), 400, "invalid_price")
    english = assert_error(
        jwt_client.post("/api/v1/trading/orders", body, format="json", HTTP_ACCEPT_LANGUAGE="en"), 400, "invalid_price"
    )
    assert korean["message"] == (
        "70,050원은 호가 단위에 맞지 않습니다 (이 가격대의 호가 단위 100원). "
        "가장 가까운 유효 가격은 70,000원과 70,100원입니다."
    )
    assert english["message"].startswith("70,050 won is off the tick grid")
    assert korean["details"]["nearest"] == english["details"]["nearest"] == [70_000, 70_100]


def test_validation_and_authentication_errors_follow_the_language(jwt_client):
    korean = assert_error(jwt_client.post(WITHDRAW, {"amount": "1.5"}, format="json"), 400, "validation_error")
    english = assert_error(
        jwt_client.post(WITHDRAW, {"amount": "1.5"}, format="json", HTTP_ACCEPT_LANGUAGE="en"), 400, "validation_error"
    )
    assert korean["message"] == "요청에 잘못된 항목이 있습니다. details를 확인하세요."
    assert korean["details"] == {"amount": ["원화에는 소수점이 없습니다. 정수로 입력하세요."]}
    assert english["message"] == "The request has invalid fields; see details."
    assert english["details"] == {"amount": ["Won has no fractions; enter a whole number."]}

    anonymous = APIClient()
    korean = assert_error(anonymous.get("/api/v1/portfolio"), 401, "not_authenticated")
    english = assert_error(anonymous.get("/api/v1/portfolio", HTTP_ACCEPT_LANGUAGE="en"), 401, "not_authenticated")
    assert korean["message"] == "자격 인증 데이터가 제공되지 않았습니다."  # DRF's own Korean catalog
    assert english["message"] == "Authentication credentials were not provided."


async def socket_error(headers, action):
    headers = [(b"origin", b"http://localhost"), *headers]
    communicator = WebsocketCommunicator(application, "/ws/prices/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to(action)
    error = await communicator.receive_json_from()
    await communicator.disconnect()
    return error


async def test_socket_errors_follow_the_handshake_language():
    bad = {"action": "subscribe", "codes": []}
    korean = await socket_error([], bad)
    english = await socket_error([(b"accept-language", b"en-US,en;q=0.9")], bad)
    cookie = await socket_error([(b"accept-language", b"ko"), (b"cookie", b"django_language=en")], bad)
    assert korean == {
        "type": "error",
        "code": "bad_codes",
        "message": '"codes"는 "A005930" 같은 종목코드의 비어 있지 않은 목록이어야 합니다.',
    }
    assert (
        english
        == cookie
        == {
            "type": "error",
            "code": "bad_codes",
            "message": '"codes" is a non-empty list of stock codes such as "A005930".',
        }
    )
