from django.contrib import admin

from marketdata.models import Stock


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "market", "sector", "market_cap_rank", "is_active"]
    list_filter = ["market", "is_active", "sector"]
    search_fields = ["code", "name", "name_en"]
    list_editable = ["is_active"]
    ordering = ["market_cap_rank", "code"]
