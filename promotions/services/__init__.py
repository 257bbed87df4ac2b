"""Writes of the promotions app, one use case per function (re-exported here)."""

from promotions.services.promotions import (
    price_floor_set,
    promotion_activate,
    promotion_codes_exported,
    promotion_codes_generate,
    promotion_create,
    promotion_end,
    promotion_pause,
    promotion_update,
    settings_update,
)
from promotions.services.quoting import Priced, PromotionPricing, price, promotion_quote, quote_display

__all__ = [
    "PromotionPricing", "Priced", "price", "price_floor_set", "promotion_activate", "promotion_codes_exported", "promotion_codes_generate", "promotion_create",
    "promotion_end", "promotion_pause", "promotion_quote", "promotion_update", "quote_display", "settings_update",
]  # fmt: skip
