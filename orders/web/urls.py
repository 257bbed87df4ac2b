from django.urls import path

from orders.web import views

app_name = "orders"

S = "shops/<int:shop>"
urlpatterns = [
    path(f"{S}/orders/", views.OrderListView.as_view(), name="order_list"),
    path(f"{S}/orders/bulk/", views.OrderBulkView.as_view(), name="order_bulk"),
    path(f"{S}/orders/slips/", views.PackingSlipView.as_view(), name="order_slips"),
    path(f"{S}/orders/bulk-pack/", views.OrderBulkPackView.as_view(), name="order_bulk_pack"),
    path(f"{S}/orders/carriers/", views.CarrierListView.as_view(), name="carrier_list"),
    path(f"{S}/orders/carriers/<int:pk>/", views.CarrierEditView.as_view(), name="carrier_edit"),
    path(f"{S}/orders/carriers/<int:pk>/deactivate/", views.CarrierDeactivateView.as_view(), name="carrier_deactivate"),
    path(f"{S}/orders/exports/", views.ExportListView.as_view(), name="export_list"),
    path(f"{S}/orders/exports/<int:pk>/download/", views.ExportDownloadView.as_view(), name="export_download"),
    path(f"{S}/orders/<int:pk>/", views.OrderDetailView.as_view(), name="order_detail"),
    path(f"{S}/orders/<int:pk>/confirm/", views.OrderConfirmView.as_view(), name="order_confirm"),
    path(f"{S}/orders/<int:pk>/pack/", views.OrderPackView.as_view(), name="order_pack"),
    path(f"{S}/orders/<int:pk>/ship/", views.OrderShipView.as_view(), name="order_ship"),
    path(
        f"{S}/orders/<int:pk>/correct-tracking/",
        views.OrderTrackingCorrectView.as_view(),
        name="order_correct_tracking",
    ),
    path(f"{S}/orders/<int:pk>/deliver/", views.OrderDeliverView.as_view(), name="order_deliver"),
    path(f"{S}/orders/<int:pk>/cancel/", views.OrderCancelView.as_view(), name="order_cancel"),
    path(f"{S}/orders/<int:pk>/refund/", views.OrderRefundView.as_view(), name="order_refund"),
    path(f"{S}/orders/<int:pk>/return/", views.OrderReturnCreateView.as_view(), name="order_return"),
    path(f"{S}/orders/<int:pk>/slip/", views.PackingSlipView.as_view(), name="order_slip"),
    path(f"{S}/returns/", views.ReturnListView.as_view(), name="return_list"),
    path(f"{S}/returns/<int:pk>/", views.ReturnDetailView.as_view(), name="return_detail"),
    path(f"{S}/returns/<int:pk>/approve/", views.ReturnApproveView.as_view(), name="return_approve"),
    path(f"{S}/returns/<int:pk>/reject/", views.ReturnRejectView.as_view(), name="return_reject"),
    path(f"{S}/returns/<int:pk>/receive/", views.ReturnReceiveView.as_view(), name="return_receive"),
    path(f"{S}/returns/<int:pk>/exchange/", views.ReturnExchangeView.as_view(), name="return_exchange"),
    path(f"{S}/returns/<int:pk>/refund/", views.ReturnRefundView.as_view(), name="return_refund"),
]
