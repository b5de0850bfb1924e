"""The screening rules as plain Python over plain data: no Flask, SQLAlchemy or kombu here."""
