"""Root URL configuration: the books app, Django's admin, and problem-details answers for errors."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("django_books.books.urls")),
    # Outside the API contract: Django's admin for the books, for people with a browser.
    path("admin/", admin.site.urls),
]

# Django's default error views answer with HTML; these answer with application/problem+json.
handler400 = "django_books.books.problems.bad_request"
handler403 = "django_books.books.problems.permission_denied"
handler404 = "django_books.books.problems.page_not_found"
handler500 = "django_books.books.problems.server_error"
