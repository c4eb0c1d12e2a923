import dataclasses
import json

import pytest

from marketdata.models import Candle
from marketdata.relay.runner import run_relay
from tests.factories import StockFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the relay loop manages its own connection


def test_the_relay_folds_each_batch_into_one_minute_candles(relay_config, tmp_path):
    StockFactory(code="A005930", name="삼성전자")
    feed = tmp_path / "ticks.jsonl"
    rows = [
        {"code": "A005930", "close": 70_000, "volume": 5, "dt": "2026-11-25T01:00:05Z"},
        {"code": "A005930", "close": 70_500, "volume": 3, "dt": "2026-11-25T01:00:30Z"},
        {"code": "A005930", "close": 69_900, "volume": 2, "dt": "2026-11-25T01:00:59Z"},
        {"code": "A005930", "close": 70_100, "volume": 1, "dt": "2026-11-25T01:01:10Z"},
    ]
    feed.write_text("\n".join(json.dumps(row) for row in rows) + "\n", "utf-8")
    config = dataclasses.replace(relay_config, source=f"replay:{feed}", record_candles=True)
    stats = run_relay(config=config, max_seconds=10)
    assert stats.messages_total == 4
    first, second = Candle.objects.order_by("start")
    assert (first.open, first.high, first.low, first.close, first.volume) == (70_000, 70_500, 69_900, 69_900, 10)
    assert (second.open, second.close, second.volume) == (70_100, 70_100, 1)
