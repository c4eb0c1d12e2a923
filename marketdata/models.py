from django.db import models

from marketdata.codes import stock_code_validator


class Market(models.TextChoices):
    KOSPI = "KOSPI", "KOSPI"
    KOSDAQ = "KOSDAQ", "KOSDAQ"


class Stock(models.Model):
    code = models.CharField(max_length=7, unique=True, validators=[stock_code_validator])
    name = models.CharField("Korean name", max_length=100)
    name_en = models.CharField("English name", max_length=150, blank=True)
    market = models.CharField(max_length=6, choices=Market.choices)
    sector = models.CharField(max_length=100, blank=True)
    industry = models.CharField(max_length=100, blank=True, help_text="KRX industry classification")
    products = models.CharField(max_length=200, blank=True, help_text="Main products, as KRX describes them")
    shares_outstanding = models.PositiveBigIntegerField(default=0)
    # The previous close (whole won): the centre of the day's ±30 % band and the base of its change.
    # Null when no close is known (a suspended listing loaded with Close 0 and no earlier price).
    reference_price = models.DecimalField(max_digits=18, decimal_places=0, null=True, blank=True)
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


class Candle(models.Model):
    """One minute of trades in one stock (OHLCV), built from ticks; longer intervals are aggregated on read.

    `start` is the minute's first instant (aware, stored in UTC). Prices are whole won.
    """

    stock = models.ForeignKey(Stock, on_delete=models.CASCADE, related_name="candles")
    start = models.DateTimeField()
    open = models.DecimalField(max_digits=18, decimal_places=0)
    high = models.DecimalField(max_digits=18, decimal_places=0)
    low = models.DecimalField(max_digits=18, decimal_places=0)
    close = models.DecimalField(max_digits=18, decimal_places=0)
    volume = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["stock", "start"]
        constraints = [
            # Also the index every chart read and every upsert uses: (stock, start range).
            models.UniqueConstraint(fields=["stock", "start"], name="candle_one_per_stock_minute"),
            models.CheckConstraint(condition=models.Q(low__lte=models.F("high")), name="candle_low_lte_high"),
        ]
        indexes = [models.Index(fields=["start"], name="candle_start_idx")]  # pruning old minutes

    def __str__(self) -> str:
        return f"{self.stock_id} {self.start:%Y-%m-%d %H:%M} {self.close}"


class MarketIndex(models.Model):
    """A market's benchmark index (KOSPI, KOSDAQ): its live value is in Redis, its daily history in MarketIndexDay."""

    code = models.CharField(max_length=6, unique=True, choices=Market.choices)
    name = models.CharField("Korean name", max_length=50)
    name_en = models.CharField("English name", max_length=50, blank=True)
    # The feed is unofficial: Toss's own index code (topic /topic/v1/kr/stock/index/<feed_code>) may change.
    feed_code = models.CharField(max_length=20, blank=True, help_text="Toss index topic code, e.g. KGG01P")

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "market indices"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class MarketIndexDay(models.Model):
    """One trading day of an index (KRX daily close), as shipped in marketdata/data/."""

    index = models.ForeignKey(MarketIndex, on_delete=models.CASCADE, related_name="days")
    date = models.DateField()
    open = models.DecimalField(max_digits=12, decimal_places=2)
    high = models.DecimalField(max_digits=12, decimal_places=2)
    low = models.DecimalField(max_digits=12, decimal_places=2)
    close = models.DecimalField(max_digits=12, decimal_places=2)
    volume = models.PositiveBigIntegerField(null=True, blank=True, help_text="Shares traded in the index's market")

    class Meta:
        ordering = ["index", "date"]
        constraints = [
            # Also the index every history read and reload uses: (index, date range).
            models.UniqueConstraint(fields=["index", "date"], name="index_day_one_per_index_date"),
            models.CheckConstraint(condition=models.Q(low__lte=models.F("high")), name="index_day_low_lte_high"),
        ]

    def __str__(self) -> str:
        return f"{self.index_id} {self.date} {self.close}"
