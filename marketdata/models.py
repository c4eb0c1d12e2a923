from django.core.validators import RegexValidator
from django.db import models

# "A" + six characters; since 2024 new listings mix digits and capitals (A0126Z0).
stock_code_validator = RegexValidator(r"^A[0-9A-Z]{6}\Z", "A stock code is A followed by six digits or capitals.")


class Market(models.TextChoices):
    KOSPI = "KOSPI", "KOSPI"
    KOSDAQ = "KOSDAQ", "KOSDAQ"


class Stock(models.Model):
    code = models.CharField(max_length=7, unique=True, validators=[stock_code_validator])
    name = models.CharField("Korean name", max_length=100)
    name_en = models.CharField("English name", max_length=150, blank=True)
    market = models.CharField(max_length=6, choices=Market.choices)
    sector = models.CharField(max_length=100, blank=True)
    currency = models.CharField(max_length=3, default="KRW")
    market_cap_rank = models.PositiveIntegerField(null=True, blank=True, help_text="1 = largest listing")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["market_cap_rank", "code"]
        indexes = [models.Index(fields=["market_cap_rank"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def short_code(self) -> str:
        return self.code[1:]
