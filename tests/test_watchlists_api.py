import pytest

from portfolio.models import Watchlist, WatchlistItem
from tests.factories import StockFactory, UserFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db
BASE = "/api/v1/portfolio/watchlists"


def create(client, name="반도체"):
    return client.post(BASE, {"name": name}, format="json")


def test_create_add_reorder_remove_and_delete(jwt_client, samsung, hynix):
    response = create(jwt_client)
    assert response.status_code == 201
    watchlist_id = response.json()["id"]
    for code in ["A005930", "A000660"]:
        assert jwt_client.post(f"{BASE}/{watchlist_id}/items", {"stock_code": code}, format="json").status_code == 201
    body = jwt_client.get(f"{BASE}/{watchlist_id}").json()
    assert [i["stock_code"] for i in body["items"]] == ["A005930", "A000660"]

    reordered = jwt_client.put(f"{BASE}/{watchlist_id}/order", {"stock_codes": ["A000660", "A005930"]}, format="json")
    assert [i["stock_code"] for i in reordered.json()["items"]] == ["A000660", "A005930"]

    renamed = jwt_client.patch(f"{BASE}/{watchlist_id}", {"name": "칩"}, format="json")
    assert renamed.json()["name"] == "칩"

    assert jwt_client.delete(f"{BASE}/{watchlist_id}/items/A000660").status_code == 204
    assert [i["stock_code"] for i in jwt_client.get(f"{BASE}/{watchlist_id}").json()["items"]] == ["A005930"]
    assert jwt_client.get(BASE).json()["count"] == 1
    assert jwt_client.delete(f"{BASE}/{watchlist_id}").status_code == 204
    assert not Watchlist.objects.exists()


def test_unknown_stock_is_404_and_duplicate_item_is_409(jwt_client, samsung):
    watchlist_id = create(jwt_client).json()["id"]
    assert_error(jwt_client.post(f"{BASE}/{watchlist_id}/items", {"stock_code": "A999999"}, format="json"), 404)
    assert_error(jwt_client.post(f"{BASE}/{watchlist_id}/items", {"stock_code": "5930"}, format="json"), 400)
    jwt_client.post(f"{BASE}/{watchlist_id}/items", {"stock_code": "A005930"}, format="json")
    before = WatchlistItem.objects.count()
    assert_error(
        jwt_client.post(f"{BASE}/{watchlist_id}/items", {"stock_code": "A005930"}, format="json"), 409, "duplicate"
    )
    assert WatchlistItem.objects.count() == before


def test_duplicate_and_bad_names(jwt_client):
    create(jwt_client, "Tech")
    assert_error(create(jwt_client, "tech"), 409, "duplicate")
    assert_error(create(jwt_client, ""), 400, "validation_error")
    assert_error(create(jwt_client, "x" * 51), 400, "validation_error")
    assert_error(create(jwt_client, "\u200b"), 400, "validation_error")  # a zero-width space alone
    assert_error(create(jwt_client, " \u3000 "), 400, "validation_error")  # ideographic space
    assert Watchlist.objects.count() == 1


def test_another_users_watchlist_is_404_not_403(jwt_client, samsung):
    theirs = Watchlist.objects.create(user=UserFactory(), name="theirs")
    assert_error(jwt_client.get(f"{BASE}/{theirs.pk}"), 404, "watchlist_not_found")
    assert_error(jwt_client.patch(f"{BASE}/{theirs.pk}", {"name": "mine"}, format="json"), 404)
    assert_error(jwt_client.delete(f"{BASE}/{theirs.pk}"), 404)
    assert_error(jwt_client.post(f"{BASE}/{theirs.pk}/items", {"stock_code": "A005930"}, format="json"), 404)
    assert Watchlist.objects.get(pk=theirs.pk).name == "theirs"
    assert not theirs.items.exists()


def test_caps_answer_409_with_the_limit(jwt_client):
    for n in range(10):
        assert create(jwt_client, f"list {n}").status_code == 201
    error = assert_error(create(jwt_client, "one too many"), 409, "limit_reached")
    assert error["details"]["limit"] == 10

    watchlist_id = Watchlist.objects.first().pk
    for stock in StockFactory.create_batch(50):
        jwt_client.post(f"{BASE}/{watchlist_id}/items", {"stock_code": stock.code}, format="json")
    extra = StockFactory()
    error = assert_error(
        jwt_client.post(f"{BASE}/{watchlist_id}/items", {"stock_code": extra.code}, format="json"), 409, "limit_reached"
    )
    assert error["details"]["limit"] == 50
    assert WatchlistItem.objects.count() == 50


def test_reorder_must_name_each_item_once(jwt_client, samsung, hynix):
    watchlist_id = create(jwt_client).json()["id"]
    jwt_client.post(f"{BASE}/{watchlist_id}/items", {"stock_code": "A005930"}, format="json")
    jwt_client.post(f"{BASE}/{watchlist_id}/items", {"stock_code": "A000660"}, format="json")
    for codes in (["A005930"], ["A005930", "A005930"], ["A005930", "A000660", "A035420"], "A005930"):
        assert_error(jwt_client.put(f"{BASE}/{watchlist_id}/order", {"stock_codes": codes}, format="json"), 400)
