"""HTTP: flask-smorest blueprints and the marshmallow schemas of the staff endpoints."""
