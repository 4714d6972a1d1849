"""The article's Django view: DRF's @api_view with a ModelSerializer."""

from rest_framework.decorators import api_view
from rest_framework.response import Response

from django_article.models import Book
from django_article.serializers import BookSerializer


@api_view(["GET"])
def book_list(request):
    books = Book.objects.all()
    serializer = BookSerializer(books, many=True)
    return Response(serializer.data)
