from decimal import Decimal

import pytest

from marketdata.krx import is_on_tick, price_limits, round_to_tick, tick_down, tick_size, tick_up


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        (1, 1),
        (1_999, 1),
        (2_000, 5),
        (4_995, 5),
        (5_000, 10),
        (19_990, 10),
        (20_000, 50),
        (49_950, 50),
        (50_000, 100),
        (199_900, 100),
        (200_000, 500),
        (499_500, 500),
        (500_000, 1_000),
        (1_250_000, 1_000),
    ],
)
def test_tick_size_follows_the_2023_krx_table(price, tick):
    assert tick_size(price) == Decimal(tick)


def test_tick_size_takes_decimals_and_strings():
    assert tick_size(Decimal("1999.5")) == 1
    assert tick_size("70000") == 100


@pytest.mark.parametrize("bad", [0, -5, "NaN", Decimal("0.5")])
def test_it_rejects_prices_below_one_won(bad):
    with pytest.raises(ValueError, match="at least 1 won"):
        tick_size(bad)


@pytest.mark.parametrize(
    ("price", "down", "up", "nearest"),
    [
        (70_050, 70_000, 70_100, 70_100),  # tie goes up
        (70_049, 70_000, 70_100, 70_000),
        (70_000, 70_000, 70_000, 70_000),
        (4_997, 4_995, 5_000, 4_995),
        (4_998, 4_995, 5_000, 5_000),
        (199_950, 199_900, 200_000, 200_000),
        (Decimal("1999.4"), 1_999, 2_000, 1_999),
        (512_345, 512_000, 513_000, 512_000),
    ],
)
def test_round_to_tick_lands_on_the_grid(price, down, up, nearest):
    assert round_to_tick(price, "down") == down
    assert round_to_tick(price, "up") == up
    assert round_to_tick(price) == nearest
    for rounded in (down, up, nearest):
        assert is_on_tick(rounded)


def test_round_to_tick_rejects_an_unknown_direction():
    with pytest.raises(ValueError, match="direction"):
        round_to_tick(70_000, "sideways")


def test_is_on_tick_says_whether_a_limit_price_is_valid():
    assert is_on_tick(70_100)
    assert not is_on_tick(70_150)
    assert not is_on_tick(Decimal("1000.5"))
    assert not is_on_tick(0)


@pytest.mark.parametrize(
    ("price", "above", "below"),
    [(1_999, 2_000, 1_998), (2_000, 2_005, 1_999), (5_000, 5_010, 4_995), (500_000, 501_000, 499_500), (1, 2, 1)],
)
def test_one_tick_up_and_down_cross_band_boundaries(price, above, below):
    assert tick_up(price) == above
    assert tick_down(price) == below


def test_several_ticks_at_once():
    assert tick_up(49_900, 3) == 50_100  # 49,950 → 50,000 → 50,100
    assert tick_down(50_100, 3) == 49_900


@pytest.mark.parametrize(
    ("base", "lower", "upper"),
    [
        (70_000, 49_000, 91_000),
        (10_000, 7_000, 13_000),
        (1_000, 700, 1_300),
        (3_333, 2_335, 4_330),  # 2,333.1 rounds up to 2,335 (tick 5); 4,332.9 down to 4,330
        (155_500, 108_900, 202_000),  # 108,850 → 108,900; 202,150 → 202,000 (tick 500)
        (1, 1, 1),
    ],
)
def test_price_limits_are_thirty_percent_snapped_inward(base, lower, upper):
    assert price_limits(base) == (Decimal(lower), Decimal(upper))
    assert is_on_tick(lower)
    assert is_on_tick(upper)
