from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Stable, deep-page-friendly pagination: ``{"results": [...], "next": ..., "previous": ...}``."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200
