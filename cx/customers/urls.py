"""Customer and organisation pages under /customers/."""

from django.urls import path

from cx.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create_view, name="create"),
    path("<int:customer_id>/", views.customer_detail, name="detail"),
    path("<int:customer_id>/edit/", views.customer_edit, name="edit"),
    path("<int:customer_id>/identities/", views.customer_identity_add, name="identity_add"),
    path("<int:customer_id>/identities/<int:identity_id>/remove/", views.customer_identity_remove,
         name="identity_remove"),
    path("<int:customer_id>/merge/", views.customer_merge_view, name="merge"),
    path("<int:customer_id>/export/", views.customer_export_view, name="export"),
    path("<int:customer_id>/erase/", views.customer_erase_view, name="erase"),
    path("organizations/", views.organization_list_view, name="organizations"),
    path("organizations/new/", views.organization_create_view, name="organization_create"),
    path("organizations/<int:organization_id>/", views.organization_detail, name="organization_detail"),
]
