"""A client generated from /api/schema/ by openapi-python-client drives a real flow against a live server
(docs/architecture.md §12): register, log in, deposit, a resting limit order, a market order at a fresh price, cancel
the resting one, list the executions. The client is generated into a temporary directory, never committed.
"""

import importlib
import subprocess
import sys

import httpx
import pytest

from tests.factories import StockFactory

PACKAGE = "contract_client"
GENERATOR_CONFIG = f"package_name_override: {PACKAGE}\nproject_name_override: contract-client\npost_hooks: []\n"


@pytest.fixture
def generated_client(live_server, tmp_path):
    """The package openapi-python-client writes for the live server's schema, imported."""
    schema = httpx.get(f"{live_server.url}/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert schema.status_code == 200, schema.text
    (tmp_path / "schema.json").write_bytes(schema.content)
    (tmp_path / "config.yaml").write_text(GENERATOR_CONFIG)
    generate = [sys.executable, "-m", "openapi_python_client", "generate", "--path", "schema.json"]
    generate += ["--meta", "none", "--config", "config.yaml", "--output-path", PACKAGE, "--fail-on-warning"]
    result = subprocess.run(generate, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _call(module: str, **kwargs):
    """One generated operation, by module name; fails with the server's answer unless it is a 2xx."""
    operation = importlib.import_module(f"{PACKAGE}.api.{module}")
    response = operation.sync_detailed(**kwargs)
    assert 200 <= response.status_code < 300, (module, response.status_code, response.content)
    return response.parsed


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_generated_client_trades_through_the_api(generated_client, live_server, store_price):
    models = importlib.import_module(f"{PACKAGE}.models")
    StockFactory(code="A005930", name="삼성전자", name_en="Samsung Electronics")
    with generated_client.Client(base_url=live_server.url, raise_on_unexpected_status=True) as anonymous:
        registration = models.RegisterInputRequest.from_dict(
            {"username": "genclient", "password": "correct-horse-battery", "email": "gen@example.com"}
        )
        user = _call("auth.auth_register_create", client=anonymous, body=registration)
        assert user.username == "genclient"
        login = models.TokenInputRequest.from_dict({"username": "genclient", "password": "correct-horse-battery"})
        tokens = _call("auth.auth_token_create", client=anonymous, body=login)
    with generated_client.AuthenticatedClient(
        base_url=live_server.url, token=tokens.access, raise_on_unexpected_status=True
    ) as client:
        _trade(models, client, store_price)


def _trade(models, client, store_price):
    deposit = models.AmountInputRequest(amount=1000000)
    starting_cash = _call("portfolio.portfolio_deposit_create", client=client, body=deposit).cash

    store_price("A005930", 70000)
    resting = {"stock_code": "A005930", "side": "BUY", "type": "LIMIT", "quantity": 3, "limit_price": 65000}
    limit_order = _call(
        "orders.trading_orders_create", client=client, body=models.OrdersInputRequest.from_dict(resting)
    )
    assert (limit_order.status, limit_order.filled_quantity) == ("OPEN", 0)

    store_price("A005930", 70100)  # a fresh tick: the market order fills at it
    market = {"stock_code": "A005930", "side": "BUY", "type": "MARKET", "quantity": 2, "client_order_id": "gen-1"}
    market_order = _call(
        "orders.trading_orders_create", client=client, body=models.OrdersInputRequest.from_dict(market)
    )
    assert (market_order.status, market_order.filled_quantity) == ("FILLED", 2)
    assert market_order.average_fill_price == 70100

    canceled = _call("orders.trading_orders_cancel_create", client=client, order_id=limit_order.id)
    assert canceled.status == "CANCELED"

    executions = _call("orders.trading_executions_list", client=client)
    assert executions.count == 1
    assert [(e.order_id, e.quantity, e.price) for e in executions.results] == [(market_order.id, 2, 70100)]
    portfolio = _call("portfolio.portfolio_retrieve", client=client)
    assert portfolio.reserved_cash == 0
    assert portfolio.cash == starting_cash + executions.results[0].amount
