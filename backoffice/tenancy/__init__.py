"""Tenancy: shop-owned rows (``models``), ids in requests (``refs``), the shop's time zone (``zones``)."""
