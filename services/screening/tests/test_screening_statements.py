"""How many SQL statements a screening sends (issue #7): the count is exact, so an extra one fails here.

Counted as clinic_shared.statements counts them: SQLite's BEGIN IMMEDIATE is one; PostgreSQL's implicit
BEGIN and the COMMIT are not. bench/bench_hot_paths.py prints the same counts with CPU time per request.
"""
from __future__ import annotations

from clinic_shared.statements import statements_sent

# The screening row, the client's last activity (one upsert, for the retention job) and the outbox row (which,
# on PostgreSQL, also sends the relay's NOTIFY through its RETURNING clause); on SQLite after BEGIN IMMEDIATE.
SCREENING = {"sqlite": 4, "postgresql": 3}


def test_a_screening_sends_its_fixed_number_of_statements(app, client, make_body):
    engine = app.extensions["screening"].engine
    assert client.post("/api/screenings", json=make_body()).status_code == 201
    with statements_sent(engine) as log:
        response = client.post("/api/screenings", json=make_body(eczema=True))
    assert response.status_code == 201
    assert len(log) == SCREENING[engine.dialect.name], log.statements
