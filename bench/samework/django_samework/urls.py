from django.urls import path

from django_samework.views import book_catalog, list_books

urlpatterns = [path("books", list_books), path("books/<int:book_id>/catalog", book_catalog)]
