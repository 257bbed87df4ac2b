from django.urls import path, re_path

from catalog.web import bulk, views

app_name = "catalog"

P = "shops/<int:shop>/catalog"
urlpatterns = [
    path(f"{P}/products/", views.ProductListView.as_view(), name="product_list"),
    path(f"{P}/products/bulk/", views.ProductBulkView.as_view(), name="product_bulk"),
    path(f"{P}/products/export/", views.ProductExportView.as_view(), name="product_export"),
    path(f"{P}/products/new/", views.ProductCreateView.as_view(), name="product_create"),
    path(f"{P}/products/<int:pk>/", views.ProductDetailView.as_view(), name="product_detail"),
    path(f"{P}/products/<int:pk>/images/", views.ProductImagesView.as_view(), name="product_images"),
    path(f"{P}/skus/<int:pk>/delete/", views.SKUDeleteView.as_view(), name="sku_delete"),
    path(f"{P}/skus/bulk-edit/price/", bulk.SKUBulkEditView.as_view(op="price"), name="sku_bulk_price"),
    path(f"{P}/skus/bulk-edit/stock/", bulk.SKUBulkEditView.as_view(op="stock"), name="sku_bulk_stock"),
    re_path(
        r"^shops/(?P<shop>[0-9]+)/catalog/products/(?P<pk>[0-9]+)/(?P<op>submit|archive|unarchive)/$",
        views.ProductTransitionView.as_view(),
        name="product_transition",
    ),
    path(f"{P}/stock/", views.StockView.as_view(), name="stock"),
    path(f"{P}/stock/movements/", views.MovementListView.as_view(), name="movements"),
    path(f"{P}/stock/export/", views.StockExportView.as_view(), name="stock_export"),
    path(f"{P}/low-stock/", views.LowStockView.as_view(), name="low_stock"),
    path(f"{P}/imports/", views.ImportListView.as_view(), name="imports"),
    path(f"{P}/imports/<int:pk>/", views.ImportDetailView.as_view(), name="import_detail"),
    path(f"{P}/imports/<int:pk>/report/", views.ImportReportView.as_view(), name="import_report"),
    path(f"{P}/exports/", views.ExportListView.as_view(), name="exports"),
    path(f"{P}/exports/<int:pk>/download/", views.ExportDownloadView.as_view(), name="export_download"),
    path(f"{P}/categories/", views.CategoryListView.as_view(), name="categories"),
    path(f"{P}/categories/<int:pk>/", views.CategoryEditView.as_view(), name="category_edit"),
    path(f"{P}/warehouses/", views.WarehouseListView.as_view(), name="warehouses"),
    path(f"{P}/warehouses/<int:pk>/", views.WarehouseEditView.as_view(), name="warehouse_edit"),
    re_path(
        r"^shops/(?P<shop>[0-9]+)/catalog/categories/(?P<pk>[0-9]+)/(?P<op>deactivate|activate|delete)/$",
        views.CategoryActionView.as_view(),
        name="category_action",
    ),
    re_path(
        r"^shops/(?P<shop>[0-9]+)/catalog/warehouses/(?P<pk>[0-9]+)/(?P<op>deactivate|activate|delete)/$",
        views.WarehouseActionView.as_view(),
        name="warehouse_action",
    ),
]
