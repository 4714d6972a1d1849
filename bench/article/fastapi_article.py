"""The article's FastAPI snippet: a pydantic model and a list in memory, with response_model."""

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Book(BaseModel):
    id: int
    title: str
    author: str


books = [
    Book(id=1, title="Dune", author="Frank Herbert"),
    Book(id=2, title="Neuromancer", author="William Gibson"),
]


@app.get("/books", response_model=list[Book])
async def get_books():
    return books
