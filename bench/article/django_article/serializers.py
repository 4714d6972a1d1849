"""The article's DRF serializer."""

from rest_framework import serializers

from django_article.models import Book


class BookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Book
        fields = ["id", "title", "author"]
