"""One paper trader's behaviour for bench/load.py (locust, headless).

Started by bench/load.py, which registers the users up front and passes them in:
  LOAD_USERS_FILE          JSON {"users": [{"username", "access"}], "codes": ["A005930", …]}
  LOAD_TASKS_PER_SECOND    each user's pace (constant throughput), so the whole run offers a fixed rate
  LOAD_REJECTIONS_FILE     where the expected rejections are written at the end (JSON)

Every task sends one request, so the users' pace is the offered request rate. A non-2xx answer
is a failure unless it is a rejection the mix provokes on purpose or by a race a real user also
meets (EXPECTED_REJECTIONS): those count as served requests and are reported separately.
"""

import itertools
import json
import os
import random
import sys
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

from locust import FastHttpUser, events, task
from locust.user.wait_time import constant_throughput

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from marketdata import krx  # noqa: E402 - the KRX price grid, no Django needed

STARTING_CASH = 10_000_000  # what each registered user's account opens with (the default STARTING_CASH)
OVERSIZED_BUY_SHARE = 0.04  # buys that ask for more than the account holds, to exercise insufficient_funds

# (request name, error code) answers that are the mix working as intended, not failures
EXPECTED_REJECTIONS = {
    ("POST trading/orders [market]", "insufficient_funds"),  # the oversized buys
    ("POST trading/orders [limit]", "insufficient_funds"),
    # a sell sized from a holdings read that a fill or another resting sell has since changed
    ("POST trading/orders [market]", "insufficient_quantity"),
    ("POST trading/orders [limit]", "insufficient_quantity"),
    # the matcher filled the order (or the day ended it) before the cancel arrived
    ("POST trading/orders/{id}/cancel", "order_not_cancelable"),
    ("POST trading/orders/{id}/cancel", "order_state_changed"),
}

_setup = json.loads(Path(os.environ["LOAD_USERS_FILE"]).read_text())
CODES: list[str] = _setup["codes"]
_credentials = itertools.cycle(_setup["users"])
rejections: Counter[tuple[str, str]] = Counter()


@events.test_stop.add_listener
def write_rejections(**kwargs) -> None:
    rows = [{"name": name, "code": code, "count": count} for (name, code), count in sorted(rejections.items())]
    Path(os.environ["LOAD_REJECTIONS_FILE"]).write_text(json.dumps(rows))


class Trader(FastHttpUser):
    wait_time = constant_throughput(float(os.environ.get("LOAD_TASKS_PER_SECOND", "1")))

    def on_start(self) -> None:
        credential = next(_credentials)
        self.headers = {"Authorization": f"Bearer {credential['access']}"}
        self.watchlist = random.sample(CODES, k=min(5, len(CODES)))
        self.quotes: dict[str, tuple[Decimal, Decimal]] = {}  # code -> (price, previous close)
        self.sellable: dict[str, int] = {}  # code -> available quantity, as last read
        self.working: list[int] = []  # ids of this user's resting orders, as last seen
        self.quote_watchlist()  # the app's first screen: the watchlist's prices

    # --- one request, judged ---------------------------------------------------------

    def send(self, method: str, path: str, name: str, body: dict | None = None) -> dict | None:
        """The JSON answer of a 2xx; None for an expected rejection or a failure (recorded as such)."""
        with self.client.request(
            method, path, name=name, json=body, headers=self.headers, catch_response=True
        ) as response:
            if 200 <= response.status_code < 300:
                response.success()
                return response.json()
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "not_the_error_shape"
            if (name, code) in EXPECTED_REJECTIONS:
                rejections[(name, code)] += 1
                response.success()
            else:
                response.failure(f"{response.status_code} {code}")
            return None

    def remember_quote(self, quote: dict) -> None:
        if quote.get("price") and quote.get("prev_close"):
            self.quotes[quote["code"]] = (Decimal(quote["price"]), Decimal(quote["prev_close"]))

    def quote(self, code: str) -> tuple[Decimal, Decimal] | None:
        """The last price seen; if none, look it up now and order on a later turn (one request per task)."""
        if code not in self.quotes:
            self.quote_one(code)
            return None
        return self.quotes[code]

    def pick_code(self) -> str:
        return random.choice(self.watchlist) if random.random() < 0.8 else random.choice(CODES)  # noqa: S311

    # --- reads -----------------------------------------------------------------------

    @task(25)
    def quote_one(self, code: str | None = None) -> None:
        code = code or self.pick_code()
        quote = self.send("GET", f"/api/v1/trading/realtime/stock/{code}", "GET trading/realtime/stock/{code}")
        if quote:
            self.remember_quote(quote)

    @task(10)
    def quote_watchlist(self) -> None:
        query = "&".join(f"stock_codes={code}" for code in self.watchlist)
        answer = self.send(
            "GET", f"/api/v1/trading/realtime/stocks/multiple?{query}", "GET trading/realtime/stocks/multiple"
        )
        for quote in (answer or {}).get("prices", []):
            self.remember_quote(quote)

    @task(12)
    def portfolio(self) -> None:
        self.send("GET", "/api/v1/portfolio", "GET portfolio")

    @task(10)
    def holdings(self) -> None:
        answer = self.send("GET", "/api/v1/portfolio/holdings", "GET portfolio/holdings")
        if answer is not None:
            self.sellable = {row["stock_code"]: row["available_quantity"] for row in answer["results"]}

    @task(10)
    def orders(self) -> None:
        answer = self.send("GET", "/api/v1/trading/orders?status=WORKING", "GET trading/orders")
        if answer is not None:
            self.working = [row["id"] for row in answer["results"]]

    # --- writes ----------------------------------------------------------------------

    def sell_candidate(self) -> tuple[str, int] | None:
        held = [(code, quantity) for code, quantity in self.sellable.items() if quantity > 0]
        return random.choice(held) if held else None  # noqa: S311

    def buy_quantity(self, price: Decimal) -> int:
        if random.random() < OVERSIZED_BUY_SHARE:  # noqa: S311
            return int(2 * STARTING_CASH / price) + 1
        budget = random.randint(100_000, 1_000_000)  # noqa: S311
        return max(1, int(budget / price))

    def place(self, name: str, body: dict) -> dict | None:
        body["client_order_id"] = uuid.uuid4().hex
        order = self.send("POST", "/api/v1/trading/orders", name, body)
        if order is not None and order["status"] in ("OPEN", "PARTIALLY_FILLED"):
            self.working.append(order["id"])
        if order is not None and order["side"] == "SELL":
            self.sellable[order["stock_code"]] = self.sellable.get(order["stock_code"], 0) - order["quantity"]
        return order

    @task(12)
    def market_order(self) -> None:
        held = self.sell_candidate()
        if held and random.random() < 0.4:  # noqa: S311
            code, available = held
            side, quantity = "SELL", random.randint(1, available)  # noqa: S311
        else:
            code = self.pick_code()
            quote = self.quote(code)
            if quote is None:
                return
            side, quantity = "BUY", self.buy_quantity(quote[0])
        self.place(
            "POST trading/orders [market]",
            {"stock_code": code, "side": side, "type": "MARKET", "quantity": quantity},
        )

    @task(14)
    def limit_order(self) -> None:
        held = self.sell_candidate()
        selling = held is not None and random.random() < 0.3  # noqa: S311
        code = held[0] if selling else self.pick_code()
        quote = self.quote(code)
        if quote is None:
            return
        price, base = quote
        # mostly 1-8 ticks on the passive side of the last price seen, so the order rests until the walk
        # reaches it and the matcher fills it; two in ten at or through it, so it fills on arrival
        ticks_away = random.randint(-1, 8)  # noqa: S311
        if ticks_away < 0:
            limit = krx.tick_down(price) if selling else krx.tick_up(price)
        else:
            limit = krx.tick_up(price, ticks_away) if selling else krx.tick_down(price, ticks_away)
        lower, upper = krx.price_limits(base)
        limit = min(max(limit, lower), upper)
        quantity = random.randint(1, held[1]) if selling else self.buy_quantity(limit)  # noqa: S311
        self.place(
            "POST trading/orders [limit]",
            {
                "stock_code": code,
                "side": "SELL" if selling else "BUY",
                "type": "LIMIT",
                "quantity": quantity,
                "limit_price": int(limit),
                "time_in_force": random.choice(["DAY", "GTC"]),  # noqa: S311
            },
        )

    @task(7)
    def cancel(self) -> None:
        if not self.working:
            self.orders()  # what a user does first: look at the working orders
            return
        order_id = self.working.pop(random.randrange(len(self.working)))  # noqa: S311
        self.send("POST", f"/api/v1/trading/orders/{order_id}/cancel", "POST trading/orders/{id}/cancel")
