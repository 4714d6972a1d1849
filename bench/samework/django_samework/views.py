import catalog
import httpx2
from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from django_samework.models import Book


class BookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Book
        fields = ["id", "title", "author"]


@api_view(["GET"])
def list_books(request):
    total = Book.objects.count()
    page = Book.objects.order_by("id")[:100]
    return Response(BookSerializer(page, many=True).data, headers={"X-Total-Count": str(total)})


# GET /books/{id}/catalog: the book, then the upstream call with httpx2's sync client, in the
# request's thread (gunicorn's sync workers) or greenlet (its gevent workers).
catalog_client = httpx2.Client(timeout=catalog.TIMEOUT, limits=catalog.LIMITS)


@api_view(["GET"])
def book_catalog(request, book_id):
    book = get_object_or_404(Book, pk=book_id)
    answer = catalog_client.get(catalog.URL, params=catalog.query(book.title, book.author))
    answer.raise_for_status()
    return Response(catalog.record(answer.json()))
