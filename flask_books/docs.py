"""Swagger UI's files, served by the app itself: flask-smorest renders /docs, which loads them."""

from importlib.resources import files

from flask import Blueprint

# flask-smorest's Swagger UI page loads swagger-ui-bundle.js and the rest from this URL; the
# files are the Swagger UI distribution that the flask-swagger-ui package ships.
SWAGGER_UI_URL = "/docs/assets/"

bp = Blueprint(
    "swagger_ui_assets",
    __name__,
    static_folder=str(files("flask_swagger_ui") / "dist"),
    static_url_path=SWAGGER_UI_URL.rstrip("/"),
)
