"""KRX trading rules that need no database: fees, tax, prices, session, expiry (docs/architecture.md §2–3)."""

from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from marketdata.calendar import SEOUL, SESSION_CLOSE, is_regular_session
from marketdata.krx import is_on_tick, price_limits, round_to_tick, tick_down, tick_size, tick_up
from trading.errors import InvalidPrice

WON = Decimal(1)


def commission_for(value: Decimal) -> Decimal:
    """Broker commission on traded value, rounded down to the won."""
    return (value * settings.COMMISSION_RATE).quantize(WON, rounding=ROUND_DOWN)


def sell_tax_for(value: Decimal) -> Decimal:
    """Securities transaction tax on sell value, rounded down to the won."""
    return (value * settings.SELL_TAX_RATE).quantize(WON, rounding=ROUND_DOWN)


def buy_reservation(price: Decimal, quantity: int) -> Decimal:
    """Cash a buy must hold: price × quantity plus its commission."""
    value = price * quantity
    return value + commission_for(value)


def market_reservation_price(price: Decimal) -> Decimal:
    """Market and stop buys reserve at the latest price plus a buffer, on the grid."""
    return round_to_tick(price * (1 + settings.MARKET_BUY_BUFFER), "up")


def check_order_price(price: Decimal, *, base: Decimal | None, field: str) -> None:
    """Limit and stop prices sit on the tick grid inside the ±30 % band of the previous close."""
    if not is_on_tick(price):
        lower, upper = round_to_tick(price, "down"), round_to_tick(price, "up")
        raise InvalidPrice(
            _(
                "%(price)s won is off the tick grid (%(tick)s won here); "
                "the nearest valid prices are %(lower)s and %(upper)s."
            )
            % {"price": f"{price:,}", "tick": f"{tick_size(price):,}", "lower": f"{lower:,}", "upper": f"{upper:,}"},
            details={
                field: [_("nearest valid prices: %(lower)s, %(upper)s") % {"lower": lower, "upper": upper}],
                "nearest": [int(lower), int(upper)],
            },
        )
    if base is not None:
        lower, upper = price_limits(base)
        if not lower <= price <= upper:
            nearest = lower if price < lower else upper
            raise InvalidPrice(
                _(
                    "%(price)s won is outside today's price band %(lower)s–%(upper)s (±30 %% of %(base)s); "
                    "the nearest valid price is %(nearest)s."
                )
                % {
                    "price": f"{price:,}",
                    "lower": f"{lower:,}",
                    "upper": f"{upper:,}",
                    "base": f"{base:,}",
                    "nearest": f"{nearest:,}",
                },
                details={
                    field: [_("band %(lower)s–%(upper)s") % {"lower": lower, "upper": upper}],
                    "band": [int(lower), int(upper)],
                    "nearest": [int(nearest)],
                },
            )


def slipped_price(price: Decimal, *, buying: bool) -> Decimal:
    """FILL_MODEL=realistic moves market fills SLIPPAGE_TICKS against the taker."""
    if settings.FILL_MODEL != "realistic" or settings.SLIPPAGE_TICKS <= 0:
        return price
    on_grid = round_to_tick(price, "up" if buying else "down")
    return tick_up(on_grid, settings.SLIPPAGE_TICKS) if buying else tick_down(on_grid, settings.SLIPPAGE_TICKS)


def fill_cap(volume: int | None) -> int | None:
    """FILL_MODEL=realistic caps a fill at the tick's traded volume; None = no cap."""
    if settings.FILL_MODEL != "realistic":
        return None
    return max(int(volume or 0), 0)


def market_is_open(now: datetime) -> bool:
    return not settings.MARKET_HOURS_ENFORCED or is_regular_session(now)


def day_order_expiry(now: datetime) -> datetime:
    """DAY orders end at 15:30 KST when hours are enforced, otherwise at the next midnight KST."""
    local = now.astimezone(SEOUL)
    if settings.MARKET_HOURS_ENFORCED:
        return datetime.combine(local.date(), SESSION_CLOSE, tzinfo=SEOUL)
    return datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=SEOUL)
