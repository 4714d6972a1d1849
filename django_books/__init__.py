"""The books API built with Django and Django REST framework."""
