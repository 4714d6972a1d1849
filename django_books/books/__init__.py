"""The books app: the Book model and its REST API."""
