"""The pages: the booking page (`/`) and the staff workspace (`/staff`), static HTML, CSS and JavaScript
modules from gateway/static, no build step; and the security headers every page is sent with (API.md "Pages").
"""
from __future__ import annotations

from flask import Blueprint, Flask, current_app

blp = Blueprint("pages", __name__)

# Scripts, styles, images and requests only from the gateway itself; no inline script or handler can run,
# and no other site may frame a page (clickjacking).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a page's address (a #manage= link) never goes elsewhere
}


@blp.get("/")
def booking_page():
    return current_app.send_static_file("index.html")


@blp.get("/staff")
def staff_page():
    return current_app.send_static_file("staff.html")


def install_page_headers(app: Flask) -> None:
    """Every HTML answer carries the page headers; everything else at least nosniff."""
    @app.after_request
    def _headers(response):
        if response.mimetype == "text/html":
            response.headers.update(PAGE_HEADERS)
        else:
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
