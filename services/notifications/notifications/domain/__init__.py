"""The notification rules as plain functions over plain data: no Flask, SQLAlchemy or kombu."""
