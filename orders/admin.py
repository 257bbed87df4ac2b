from django.contrib import admin

from orders.models import Order, OrderEvent, OrderLine, Refund, Return


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    readonly_fields = ("sku", "sku_code", "title", "quantity", "unit_price", "returned_quantity")
    can_delete = False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "shop", "state", "delivery_method", "total", "created_at")
    list_filter = ("state", "delivery_method")
    search_fields = ("number", "external_id")
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [OrderLineInline]


@admin.register(OrderEvent)
class OrderEventAdmin(admin.ModelAdmin):
    list_display = ("order", "kind", "from_state", "to_state", "actor", "created_at")
    readonly_fields = [f.name for f in OrderEvent._meta.fields]


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    list_display = ("pk", "order", "state", "created_at")


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ("pk", "order", "amount", "actor", "created_at")
