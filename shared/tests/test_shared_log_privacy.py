"""Logs name no person (issue #10): SQL parameters hidden, PostgreSQL's DETAIL withheld, failures by kind."""
import logging
import smtplib

import pytest
from marshmallow import ValidationError
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.exc import IntegrityError

from clinic_shared.db import make_engine
from clinic_shared.events import parse_envelope
from clinic_shared.logs import JsonFormatter, describe_failure

EMAIL, NAME = "zelda.quimby@example.org", "Zelda Quimby"


def logged(exc: BaseException, message: str = "it failed: %s", *args) -> str:
    record = logging.LogRecord("test", logging.ERROR, __file__, 1, message, args or (exc,),
                               (type(exc), exc, exc.__traceback__))
    return JsonFormatter("test").format(record)


def test_a_constraint_violation_logs_no_value_of_the_row(database_url):
    metadata = MetaData()
    clients = Table("clients", metadata, Column("id", Integer, primary_key=True),
                    Column("email", String(100), unique=True), Column("name", String(100)))
    engine = make_engine(database_url)
    metadata.create_all(engine)
    try:
        with engine.begin() as connection:
            connection.execute(clients.insert().values(id=1, email=EMAIL, name=NAME))
        with pytest.raises(IntegrityError) as caught:
            with engine.begin() as connection:
                connection.execute(clients.insert().values(id=2, email=EMAIL, name=NAME))
    finally:
        engine.dispose()
    line = logged(caught.value)
    assert "clients" in line  # the statement or the constraint is still there to find the cause
    assert EMAIL not in line and NAME not in line


def test_describe_failure_names_fields_and_kinds_never_values():
    with pytest.raises(ValidationError) as caught:
        parse_envelope({"event_id": "e1", "type": "screening.completed", "version": 2, "occurred_at": "x",
                        "producer": "p", "data": {"client": {"name": 7, "email": EMAIL}, "outcome": NAME}})
    described = describe_failure(caught.value)
    assert described.startswith("ValidationError on ") and "client.name" in described and "outcome" in described
    assert EMAIL not in described and NAME not in described

    refused = smtplib.SMTPRecipientsRefused({EMAIL: (550, b"5.1.1 <" + EMAIL.encode() + b"> unknown")})
    try:
        raise RuntimeError(f"delivery to {EMAIL} failed") from refused
    except RuntimeError as exc:
        assert describe_failure(exc) == "RuntimeError from SMTPRecipientsRefused"
    assert describe_failure(smtplib.SMTPDataError(554, f"{EMAIL} refused".encode())) == "SMTPDataError 554"
    assert describe_failure(KeyError("booking_id")) == "KeyError booking_id"
    assert describe_failure(KeyError(EMAIL)) == "KeyError"
    assert describe_failure(ValueError(f"Invalid isoformat string: {NAME!r}")) == "ValueError"
