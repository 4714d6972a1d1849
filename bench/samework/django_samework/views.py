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
