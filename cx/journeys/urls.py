"""Timeline pages under /journeys/."""

from django.urls import path

from cx.journeys import analytics_views, views

app_name = "journeys"
urlpatterns = [
    path("customers/<int:customer_id>/timeline/", views.customer_timeline, name="customer_timeline"),
    path("customers/<int:customer_id>/timeline/summary/", views.customer_timeline_summary,
         name="customer_timeline_summary"),
    path("customers/<int:customer_id>/touchpoints/new/", views.touchpoint_add, name="touchpoint_add"),
    path("map/", analytics_views.journey_map, name="map"),
    path("analytics/", analytics_views.funnel, name="analytics"),
    path("analytics/funnel/dropoff/", analytics_views.funnel_dropoff, name="funnel_dropoff"),
    path("analytics/paths/", analytics_views.paths, name="paths"),
    path("analytics/retention/", analytics_views.retention, name="retention"),
    path("analytics/friction/", analytics_views.friction, name="friction"),
    path("catalog/", analytics_views.catalog, name="catalog"),
    path("catalog/<int:definition_id>/", analytics_views.catalog, name="catalog_edit"),
    path("catalog/<int:definition_id>/delete/", analytics_views.catalog_delete, name="catalog_delete"),
]
