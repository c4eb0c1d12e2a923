"""Page forms take whole numbers in ASCII digits only (issue 14): Django's IntegerField would read "１０" (fullwidth,
easy to type with a Korean IME), "١٠" (Arabic-Indic) and "1_0" as 10. Each is refused on the page, inline, and
nothing is written: no ledger row, no order, the working order untouched."""

from decimal import Decimal

import pytest
from django import forms

from kernel.fields import AsciiIntegerField
from portfolio.models import Account, Transaction
from trading.models import Order
from trading.services import OrderRequest, order_place

pytestmark = pytest.mark.django_db

NOT_ASCII = ["１０", "١٠", "1_0", "10.0", "1e1", "+１"]


@pytest.fixture
def trader(client, user, samsung, store_price):
    store_price("A005930", 70_000, base=69_000)
    client.force_login(user)
    return user


class _Form(forms.Form):
    count = AsciiIntegerField(min_value=1)


@pytest.mark.parametrize("text", NOT_ASCII)
def test_the_field_refuses_digits_that_are_not_ascii(text):
    form = _Form({"count": text})
    assert not form.is_valid()
    assert form.errors["count"][0] == str(forms.IntegerField.default_error_messages["invalid"])


@pytest.mark.parametrize(("text", "value"), [("10", 10), (" 10 ", 10), ("007", 7)])
def test_the_field_takes_plain_digits(text, value):
    form = _Form({"count": text})
    assert form.is_valid()
    assert form.cleaned_data["count"] == value


@pytest.mark.parametrize("text", NOT_ASCII)
def test_a_deposit_in_other_digits_is_refused_and_writes_nothing(client, trader, text):
    before = (Transaction.objects.count(), Account.objects.get(user=trader).cash)
    response = client.post("/portfolio/deposit/", {"deposit-amount": text}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()
    assert (Transaction.objects.count(), Account.objects.get(user=trader).cash) == before


@pytest.mark.parametrize(
    "fields",
    [
        {"order_type": "MARKET", "quantity": "１０"},
        {"order_type": "MARKET", "quantity": "١٠"},
        {"order_type": "MARKET", "quantity": "1_0"},
        {"order_type": "LIMIT", "quantity": "1", "limit_price": "６９０００"},
        {"order_type": "STOP", "quantity": "1", "stop_price": "7_1000"},
    ],
)
def test_an_order_ticket_in_other_digits_places_nothing(client, trader, fields):
    data = {"side": "BUY", "time_in_force": "DAY", **fields}
    response = client.post("/orders/ticket/A005930/place/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize(("field", "text"), [("quantity", "３"), ("limit_price", "٦٨٩٠٠"), ("quantity", "1_0")])
def test_a_replace_in_other_digits_leaves_the_order_alone(client, trader, field, text):
    order, _ = order_place(
        user=trader, request=OrderRequest("A005930", "BUY", "LIMIT", quantity=2, limit_price=Decimal(69_000))
    )
    before = list(Order.objects.values_list("pk", "status", "quantity", "limit_price", "reserved_cash"))
    response = client.post(f"/orders/{order.pk}/replace/", {field: text}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'data-testid="replace-error"' in response.content.decode()
    assert list(Order.objects.values_list("pk", "status", "quantity", "limit_price", "reserved_cash")) == before
