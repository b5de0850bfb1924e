"""Links between the public operations, written on the merged document."""
from gateway.openapi_links import LINKS, Link, add_links, operation_ref


def op(*statuses):
    return {"responses": {status: {"description": "x"} for status in statuses}}


def test_a_link_points_at_its_target_operation_with_the_values_it_carries():
    document = {"paths": {"/api/bookings": {"post": op("201")},
                          "/api/bookings/{booking_id}/reschedule": {"post": op("200")}}}
    link = Link("POST /api/bookings 201", "Move", "POST /api/bookings/{booking_id}/reschedule",
                {"path.booking_id": "$response.body#/id"}, {"start": "$response.body#/end"}, "why")
    add_links(document, (link,))
    assert document["paths"]["/api/bookings"]["post"]["responses"]["201"]["links"] == {"Move": {
        "operationRef": "#/paths/~1api~1bookings~1{booking_id}~1reschedule/post",
        "parameters": {"path.booking_id": "$response.body#/id"},
        "requestBody": {"start": "$response.body#/end"}, "description": "why"}}


def test_a_link_whose_source_or_target_is_missing_is_left_out():
    document = {"paths": {"/api/bookings": {"post": op("201")},  # notifications down: not in the document
                          "/api/bookings/{booking_id}/cancel": {"post": op("200")}}}
    add_links(document)
    assert set(document["paths"]["/api/bookings"]["post"]["responses"]["201"]["links"]) == {"CancelBooking"}
    assert add_links({"paths": {}}) == {"paths": {}}


def test_every_link_names_operations_and_parameters_the_public_paths_have():
    for link in LINKS:
        method, path, status = link.source.split(" ")
        assert method in ("GET", "POST") and status.isdigit() and path.startswith("/api/")
        target_method, target_path = link.target.split(" ")
        for parameter in link.parameters:
            location, _, name = parameter.partition(".")
            assert location in ("path", "query")
            assert location != "path" or "{" + name + "}" in target_path, (link.name, parameter)


def test_operation_refs_escape_json_pointer_characters():
    assert operation_ref("/api/a~b/{id}", "GET") == "#/paths/~1api~1a~0b~1{id}/get"
