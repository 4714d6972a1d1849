"""URLs of the books app: /books, /books/{id}, /health and the docs, without trailing slashes."""

from django.urls import path, register_converter
from rest_framework.routers import SimpleRouter

from django_books.books import docs, views
from django_books.books.converters import BookIdConverter

register_converter(BookIdConverter, "book_id")

router = SimpleRouter(trailing_slash=False, use_regex_path=False)
router.register("books", views.BookViewSet)

urlpatterns = [
    path("health", views.HealthView.as_view(), name="health"),
    path("openapi.json", docs.OpenAPIView.as_view(), name="openapi"),
    path("docs", docs.SwaggerUIView.as_view(url_name="openapi"), name="docs"),
    *router.urls,
]
