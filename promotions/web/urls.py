from django.urls import path, re_path

from promotions.web import ads, codes, views

app_name = "promotions"

S = "shops/<int:shop>/promotions"
urlpatterns = [
    path(f"{S}/", views.PromotionListView.as_view(), name="promotion_list"),
    path(f"{S}/new/", views.PromotionCreateView.as_view(), name="promotion_create"),
    path(f"{S}/<int:pk>/", views.PromotionDetailView.as_view(), name="promotion_detail"),
    path(f"{S}/<int:pk>/edit/", views.PromotionEditView.as_view(), name="promotion_edit"),
    re_path(
        r"^shops/(?P<shop>[0-9]+)/promotions/(?P<pk>[0-9]+)/(?P<op>activate|pause|end)/$",
        views.PromotionTransitionView.as_view(),
        name="promotion_transition",
    ),
    # Single-use codes (promotions/web/codes.py)
    path(f"{S}/<int:pk>/codes/generate/", codes.PromotionCodesGenerateView.as_view(), name="promotion_codes_generate"),
    path(f"{S}/<int:pk>/codes/export/", codes.PromotionCodesExportView.as_view(), name="promotion_codes_export"),
    # Ad campaigns (promotions/web/ads.py)
    path("shops/<int:shop>/ad-campaigns/", ads.AdCampaignListView.as_view(), name="ad_campaign_list"),
    path("shops/<int:shop>/ad-campaigns/new/", ads.AdCampaignCreateView.as_view(), name="ad_campaign_create"),
    path("shops/<int:shop>/ad-campaigns/<int:pk>/", ads.AdCampaignDetailView.as_view(), name="ad_campaign_detail"),
    path("shops/<int:shop>/ad-campaigns/<int:pk>/edit/", ads.AdCampaignEditView.as_view(), name="ad_campaign_edit"),
    re_path(
        r"^shops/(?P<shop>[0-9]+)/ad-campaigns/(?P<pk>[0-9]+)/(?P<op>activate|pause|end)/$",
        ads.AdCampaignTransitionView.as_view(),
        name="ad_campaign_transition",
    ),
]
