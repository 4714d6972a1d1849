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
    # Before the router's /books/<id>, though its converter takes digits only: a WebSocket's
    # handshake is Channels' (asgi.py), any other request to the path is this view's.
    path("books/changes", views.ChangesView.as_view(), name="book-changes"),
    *router.urls,
]
