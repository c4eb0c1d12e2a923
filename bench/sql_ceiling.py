"""gunicorn config for `bench/run.py --sql-ceiling`: what market-buy throughput would be if
placement cost nothing but its own SQL (an upper bound for any hand-written-SQL rewrite).

As it starts, each worker places two real orders for the bench user (`SQL_CEILING_USER`)
and captures the statements of a third; bench/run.py measures auth/me first, so both
workers have done so before any replay. From then on the worker answers `order_place`
by reading the price from Redis, replaying those statements through a raw cursor in one
durable transaction, and publishing the same events message after commit. Everything
else in the request (JWT, throttle, serializers, response) is the real code. The
replayed rows are not a valid ledger: run it on a throwaway database only.
"""

import json
import os
import re


def post_worker_init(worker):
    from django.contrib.auth import get_user_model
    from django.core.serializers.json import DjangoJSONEncoder
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    import trading.api
    from kernel.redis import get_redis
    from marketdata.prices import latest_price
    from portfolio.events import account_events_prefix, event_message
    from portfolio.models import AccountEvent
    from trading.services import OrderRequest, order_place

    captured = {}

    def capture(user, request) -> None:
        for _ in range(2):  # the first order of a stock creates its holding row
            order_place(user=user, request=request)
        with CaptureQueriesContext(connection) as queries:
            order, _ = order_place(user=user, request=request)
        ignore = "INSERT OR IGNORE INTO" if connection.vendor == "sqlite" else "INSERT IGNORE INTO"
        captured["statements"] = [  # replayed events repeat their seq: ignore the duplicates
            query["sql"].replace("INSERT INTO", ignore, 1)
            for query in queries.captured_queries
            if not re.match(r"(BEGIN|COMMIT)", query["sql"])
        ]
        events = AccountEvent.objects.filter(account=order.account).order_by("-seq")[:2]
        captured["message"] = [event_message(event) for event in reversed(events)]
        captured["order"] = order

    def replay_place(*, user, request):
        latest_price(request.stock_code)
        with transaction.atomic(durable=True), connection.cursor() as cursor:
            for sql in captured["statements"]:
                cursor.execute(sql)
                if sql.startswith("SELECT"):
                    cursor.fetchall()
            channel = account_events_prefix() + str(user.pk)
            payload = json.dumps(captured["message"], cls=DjangoJSONEncoder)
            transaction.on_commit(lambda: get_redis().publish(channel, payload))
        return captured["order"], True

    user = get_user_model().objects.get(username=os.environ["SQL_CEILING_USER"])
    capture(user, OrderRequest(stock_code="A005930", side="BUY", order_type="MARKET", quantity=1))
    trading.api.order_place = replay_place
