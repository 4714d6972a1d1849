from django.urls import path

from django_samework.views import list_books

urlpatterns = [path("books", list_books)]
