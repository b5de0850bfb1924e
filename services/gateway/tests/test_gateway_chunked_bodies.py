"""Bodies without a Content-Length (chunked) obey the 64 KiB limit too, and reach the service whole."""
import io
import json



def chunked_post(client, body: bytes):
    return client.post("/api/screenings", input_stream=io.BytesIO(body),
                       environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
                       headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})


def test_a_chunked_body_over_64_kib_is_413(client, services):
    response = chunked_post(client, b'{"a": "' + b"x" * 70_000 + b'"}')
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert all(not app.received for app, _ in services.values())


def test_a_chunked_body_under_the_limit_is_forwarded_whole(client, services):
    body = json.dumps({"client": {"name": "x" * 60_000}}).encode()
    response = chunked_post(client, body)
    assert response.status_code == 200
    assert json.loads(response.get_json()["body"]) == json.loads(body)

