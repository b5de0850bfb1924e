"""The booking web page: static HTML, CSS and JS from gateway/static, no build step."""
from __future__ import annotations

from flask import Blueprint, current_app

blp = Blueprint("pages", __name__)


@blp.get("/")
def booking_page():
    return current_app.send_static_file("index.html")
