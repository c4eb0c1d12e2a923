"""No input, however malformed, produces a 5xx (docs/architecture.md §11): nesting, size, unknown codes and paths."""

import io

import pytest
from channels.testing import WebsocketCommunicator
from django.core.exceptions import RequestDataTooBig

from kernel.parsers import MAX_JSON_DEPTH, BoundedJSONParser, json_depth
from stocking.asgi import application
from tests.helpers import assert_error

ORIGIN = [(b"origin", b"http://localhost")]


def nested_arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


# --- JSON nesting -----------------------------------------------------------------------

UNAUTHENTICATED_POSTS = ["/api/v1/auth/token", "/api/v1/auth/token/refresh", "/api/v1/auth/register"]
AUTHENTICATED_POSTS = ["/api/v1/trading/orders", "/api/v1/portfolio/deposit", "/api/v1/portfolio/watchlists"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", UNAUTHENTICATED_POSTS)
@pytest.mark.parametrize("body", [nested_arrays(936), nested_objects(936), nested_arrays(100_000)])
def test_deeply_nested_json_is_400_without_logging_in(api_client, path, body):
    response = api_client.post(path, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    error = assert_error(response, 400, "malformed_request")
    assert f"at most {MAX_JSON_DEPTH} levels" in error["message"]


@pytest.mark.parametrize("path", AUTHENTICATED_POSTS)
def test_deeply_nested_json_is_400_on_authenticated_endpoints_and_writes_nothing(jwt_client, path):
    from portfolio.models import Watchlist

    response = jwt_client.post(path, nested_objects(936), content_type="application/json")
    assert_error(response, 400, "malformed_request")
    assert not Watchlist.objects.exists()


@pytest.mark.django_db
def test_nesting_is_bounded_at_the_limit_not_only_near_the_recursion_limit(api_client):
    too_deep = api_client.post(
        "/api/v1/auth/token", nested_objects(MAX_JSON_DEPTH + 1), content_type="application/json"
    )
    assert_error(too_deep, 400, "malformed_request")
    # at the limit the body parses, and the serializer says what is wrong with it
    at_limit = api_client.post("/api/v1/auth/token", nested_objects(MAX_JSON_DEPTH), content_type="application/json")
    assert_error(at_limit, 400, "validation_error")


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ('{"a": [1, {"b": []}]}', 4),
        ('{"a": "[[[[{{{{"}', 1),  # brackets inside strings do not nest
        ('["\\"[[[", [["]]]"]]]', 3),  # nor do they after an escaped quote
        (nested_arrays(5000), 5000),
    ],
)
def test_json_depth_counts_nesting_outside_strings(text, depth):
    assert json_depth(text) == depth


def test_malformed_and_non_json_bodies_are_still_400(jwt_client):
    for body in ['{"amount": ', "[" * 10, b"\xff\xfe", '{"amount": NaN}']:
        response = jwt_client.post("/api/v1/portfolio/deposit", body, content_type="application/json")
        assert_error(response, 400, "malformed_request")


# --- body size -----------------------------------------------------------------------------


@pytest.fixture
def small_upload_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    return 1000


def padded_credentials(size: int) -> str:
    return '{"username": "x", "password": "' + "p" * size + '"}'


@pytest.mark.django_db
@pytest.mark.parametrize("path", [*UNAUTHENTICATED_POSTS, "/api/v1/payments/portone/webhook"])
def test_an_api_body_over_the_limit_is_413_in_the_error_shape(api_client, small_upload_limit, path):
    response = api_client.post(path, padded_credentials(2000), content_type="application/json")
    error = assert_error(response, 413, "request_too_large")
    assert error["details"] == {"max_bytes": small_upload_limit}


def test_an_authenticated_body_over_the_limit_is_413_and_writes_nothing(jwt_client, small_upload_limit):
    from portfolio.models import Watchlist

    body = '{"name": "' + "n" * 2000 + '"}'
    assert_error(jwt_client.post("/api/v1/portfolio/watchlists", body, content_type="application/json"), 413)
    assert not Watchlist.objects.exists()


@pytest.mark.django_db
def test_a_view_reading_the_raw_body_answers_413_even_without_the_middleware(api_client, settings, small_upload_limit):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "kernel.limits.BodySizeLimitMiddleware"]
    response = api_client.post("/api/v1/payments/portone/webhook", "x" * 2000, content_type="application/json")
    assert_error(response, 413, "request_too_large")


def test_the_parser_bounds_a_body_whose_length_was_not_declared(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    parser = BoundedJSONParser()
    assert parser.parse(io.BytesIO(b'{"a": 1}'), "application/json", {}) == {"a": 1}
    with pytest.raises(RequestDataTooBig):  # the API answers it with 413, as tested above
        parser.parse(io.BytesIO(padded_credentials(2000).encode()), "application/json", {})


def test_a_page_form_over_the_limit_is_refused_not_a_server_error(client, user, small_upload_limit):
    client.force_login(user)
    response = client.post("/portfolio/deposit/", {"deposit-amount": "1" * 2000})
    assert response.status_code in (400, 413)


def test_a_body_at_the_limit_is_accepted(jwt_client, settings):
    body = '{"name": "ok", "pad": "' + "p" * 100 + '"}'
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body.encode())
    assert jwt_client.post("/api/v1/portfolio/watchlists", body, content_type="application/json").status_code == 201


# --- stock codes on pages ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/orders/ticket/A999999/"),
        ("post", "/orders/ticket/A999999/place/"),
        ("get", "/orders/ticket/not-a-code/"),
        ("get", "/stocks/A999999/"),
    ],
)
def test_an_unknown_stock_code_on_a_page_is_404(client, user, method, path):
    client.force_login(user)
    response = getattr(client, method)(path)
    assert response.status_code == 404


def test_watchlist_page_actions_with_an_unknown_code_answer_without_a_server_error(client, user):
    from portfolio.services import watchlist_create

    watchlist = watchlist_create(user=user, name="Mine")
    client.force_login(user)
    assert client.post(f"/watchlists/{watchlist.pk}/add/", {"stock_code": "A999999"}).status_code == 302
    assert client.post(f"/watchlists/{watchlist.pk}/remove/A999999/").status_code == 302


# --- WebSockets -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/nope/", "/ws/ping/extra/", "/", "/api/v1/auth/me"])
async def test_a_websocket_to_an_unknown_path_is_refused_at_the_handshake(path):
    communicator = WebsocketCommunicator(application, path, headers=ORIGIN)
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.wait()


@pytest.mark.django_db(transaction=True)
async def test_a_deeply_nested_websocket_message_is_an_error_message_not_a_crash():
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=[*ORIGIN, (b"accept-language", b"en")])
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data=nested_arrays(2000))  # 4,000 bytes: within the frame limit
    message = await communicator.receive_json_from()
    assert message["code"] == "bad_message"
    assert f"at most {MAX_JSON_DEPTH} levels" in message["message"]
    await communicator.send_json_to({"action": "ping"})  # the socket still serves
    assert (await communicator.receive_json_from())["code"] == "not_authenticated"
    await communicator.disconnect()


# --- JSON from the market-data upstream (the relay process) ------------------------------------


def test_a_deeply_nested_tick_is_malformed_not_a_crash_of_the_relay():
    from marketdata.relay.ticks import MalformedTick, parse_tick

    with pytest.raises(MalformedTick):
        parse_tick('{"code": "A005930", "pad": ' + nested_arrays(5000) + "}")


def test_a_deeply_nested_guest_key_answer_is_a_source_error():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from marketdata.relay.base import SourceError
    from marketdata.relay.toss import GuestKeyCredentials

    class DeepAnswer(BaseHTTPRequestHandler):
        def do_GET(self):
            body = nested_arrays(5000).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), DeepAnswer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        credentials = GuestKeyCredentials(f"http://127.0.0.1:{server.server_address[1]}/key", origin="http://localhost")
        with pytest.raises(SourceError):
            credentials.connect_headers()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
