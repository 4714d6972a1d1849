"""The article's Flask snippet: a list in memory, returned with jsonify."""

from flask import Flask, jsonify

app = Flask(__name__)

books = [
    {"id": 1, "title": "Dune", "author": "Frank Herbert"},
    {"id": 2, "title": "Neuromancer", "author": "William Gibson"},
]


@app.get("/books")
def get_books():
    return jsonify(books)
