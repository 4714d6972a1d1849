"""The books API on FastAPI, pydantic v2 and SQLModel, served by uvicorn."""
