import factory
from django.contrib.auth import get_user_model

from marketdata.models import Market, Stock

DEFAULT_PASSWORD = "a-long-test-password-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"trader{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # persist the hashed password
        if create:
            obj.save()


class StockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stock
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"A{900000 + n:06d}")
    name = factory.Sequence(lambda n: f"테스트종목{n}")
    name_en = factory.Sequence(lambda n: f"Test Corp {n}")
    market = Market.KOSPI
    market_cap_rank = factory.Sequence(lambda n: 1000 + n)


def open_account_for(user, starting_cash=None):
    from portfolio.services import account_open

    return account_open(user=user, starting_cash=starting_cash)
