from rest_framework.routers import SimpleRouter

from catalog.api import views

router = SimpleRouter()
SHOP = r"shops/(?P<shop>\d+)"
router.register(rf"{SHOP}/categories", views.CategoryViewSet, basename="categories")
router.register(rf"{SHOP}/warehouses", views.WarehouseViewSet, basename="warehouses")
router.register(rf"{SHOP}/products", views.ProductViewSet, basename="products")
router.register(rf"{SHOP}/skus", views.SKUViewSet, basename="skus")
router.register(rf"{SHOP}/stock", views.StockViewSet, basename="stock")
router.register(rf"{SHOP}/stock-movements", views.StockMovementViewSet, basename="stock-movements")
router.register(rf"{SHOP}/low-stock-alerts", views.LowStockAlertViewSet, basename="low-stock-alerts")
router.register(rf"{SHOP}/imports", views.ImportJobViewSet, basename="imports")
router.register(rf"{SHOP}/catalog-exports", views.ExportJobViewSet, basename="catalog-exports")
router.register(r"platform/products", views.PlatformProductViewSet, basename="platform-products")

urlpatterns = router.urls
