"""The article's URL: GET /books."""

from django.urls import path

from django_article.views import book_list

urlpatterns = [path("books", book_list)]
