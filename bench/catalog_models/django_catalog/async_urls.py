from django.urls import path

from django_catalog.views import catalog_async, health

urlpatterns = [path("health", health), path("books/<int:book_id>/catalog", catalog_async)]
