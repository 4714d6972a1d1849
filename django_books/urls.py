"""Root URL configuration: the books app, and problem-details answers for Django's own errors."""

from django.urls import include, path

urlpatterns = [
    path("", include("django_books.books.urls")),
]

# Django's default error views answer with HTML; these answer with application/problem+json.
handler400 = "django_books.books.problems.bad_request"
handler404 = "django_books.books.problems.page_not_found"
handler500 = "django_books.books.problems.server_error"
