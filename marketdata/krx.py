"""KRX price grid: tick sizes and the daily price band (docs/architecture.md §2–3).

Since 2023 KOSPI and KOSDAQ share one table. Every band boundary (2,000,
5,000, …) is a multiple of the tick below and above it, so flooring or
ceiling to the tick of the price itself always lands on the grid.
Shared by the relay's simulator and the order engine's limit-price checks.
"""

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal

# (upper bound, exclusive) -> tick size; prices from 500,000 up move by 1,000.
_TICK_TABLE: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal(2_000), Decimal(1)),
    (Decimal(5_000), Decimal(5)),
    (Decimal(20_000), Decimal(10)),
    (Decimal(50_000), Decimal(50)),
    (Decimal(200_000), Decimal(100)),
    (Decimal(500_000), Decimal(500)),
)
_TOP_TICK = Decimal(1_000)
MIN_PRICE = Decimal(1)
DAILY_LIMIT_RATE = Decimal("0.30")

Direction = Literal["down", "up", "nearest"]
_ROUNDING = {"down": ROUND_FLOOR, "up": ROUND_CEILING, "nearest": ROUND_HALF_UP}
PriceLike = Decimal | int | str


def _as_price(price: PriceLike) -> Decimal:
    value = price if isinstance(price, Decimal) else Decimal(price)
    if not value.is_finite() or value < MIN_PRICE:
        raise ValueError(f"a KRX price is at least {MIN_PRICE} won, got {price!r}")
    return value


def tick_size(price: PriceLike) -> Decimal:
    """The tick that applies at `price` (KOSPI and KOSDAQ alike)."""
    value = _as_price(price)
    for bound, tick in _TICK_TABLE:
        if value < bound:
            return tick
    return _TOP_TICK


def round_to_tick(price: PriceLike, direction: Direction = "nearest") -> Decimal:
    """`price` moved onto the grid: down, up, or to the nearest grid price (ties go up)."""
    rounding = _ROUNDING.get(direction)
    if rounding is None:
        raise ValueError(f"direction must be down, up or nearest, got {direction!r}")
    value = _as_price(price)
    tick = tick_size(value)
    return (value / tick).to_integral_value(rounding=rounding) * tick


def is_on_tick(price: PriceLike) -> bool:
    try:
        return round_to_tick(price, "down") == Decimal(price)
    except ValueError:
        return False


def tick_up(price: PriceLike, ticks: int = 1) -> Decimal:
    """The grid price `ticks` steps above `price` (which must be on the grid)."""
    value = _as_price(price)
    for _ in range(ticks):
        value += tick_size(value)
    return value


def tick_down(price: PriceLike, ticks: int = 1) -> Decimal:
    """The grid price `ticks` steps below `price`; never below 1 won."""
    value = _as_price(price)
    for _ in range(ticks):
        if value <= MIN_PRICE:
            break
        # The step down is the tick of the prices just below (2,000 -> 1,999, 5,000 -> 4,995).
        value -= tick_size(value - MIN_PRICE)
    return value


def price_limits(base: PriceLike) -> tuple[Decimal, Decimal]:
    """(lower, upper) daily limits: base ±30 %, each snapped inward onto the grid."""
    value = _as_price(base)
    upper = round_to_tick(value * (1 + DAILY_LIMIT_RATE), "down")
    lower_raw = value * (1 - DAILY_LIMIT_RATE)
    lower = round_to_tick(lower_raw, "up") if lower_raw >= MIN_PRICE else MIN_PRICE
    return lower, upper
