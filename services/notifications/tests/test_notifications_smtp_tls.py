"""SMTP with TLS against a real mail server (aiosmtpd) on this machine: `smtps://` speaks TLS from the first byte,
`?starttls=1` upgrades the session before anything else is sent (the login included), and the server's certificate
is checked against the CAs the process trusts (SSL_CERT_FILE names them here: a CA made for the test by trustme)."""
import smtplib
import ssl
from email.message import EmailMessage

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from clinic_shared.testing import ReceivedMail, free_port

from notifications.delivery import PermanentDeliveryError, SmtpTransport

HOST = "127.0.0.1"


@pytest.fixture
def authority():
    return trustme.CA()


@pytest.fixture
def trusted(authority, tmp_path, monkeypatch):
    """The process trusts the test CA (OpenSSL reads SSL_CERT_FILE when a default context is made)."""
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


def server_context(authority) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert(HOST).configure_cert(context)
    return context


class Server:
    def __init__(self, **options):
        self.mailbox = ReceivedMail()
        self.logins = []
        self.controller = Controller(self.mailbox, hostname=HOST, port=free_port(), authenticator=self.authenticate,
                                     **options)

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode(), session.ssl is not None))
        return AuthResult(success=auth_data.password == b"relay-secret")

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def a_message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "clinic@example.org", "ada@example.org", "Your booking"
    message.set_content("See you on Monday.")
    return message


def test_smtps_sends_over_tls_from_the_first_byte(authority, trusted):
    # aiosmtpd does not count a TLS-wrapped port as TLS when it decides whether to offer AUTH, so it is offered
    # here without that check; that the port speaks nothing but TLS is shown by a plain client failing on it.
    with Server(ssl_context=server_context(authority), auth_require_tls=False) as server:
        url = f"clinic:relay-secret@{HOST}:{server.controller.port}"
        SmtpTransport(f"smtps://{url}").send(a_message(), "n1")
        with pytest.raises((OSError, smtplib.SMTPException)):
            SmtpTransport(f"smtp://{url}", timeout=2).send(a_message(), "n1-plain")
    [received] = server.mailbox.messages
    assert received["message"]["Subject"] == "Your booking"
    assert [login[:2] for login in server.logins] == [("clinic", "relay-secret")]


def test_starttls_upgrades_before_the_login_and_the_message(authority, trusted):
    with Server(tls_context=server_context(authority), require_starttls=True) as server:
        SmtpTransport(f"smtp://clinic:relay-secret@{HOST}:{server.controller.port}?starttls=1").send(a_message(), "n2")
    assert [m["to"] for m in server.mailbox.messages] == [["ada@example.org"]]
    assert server.logins == [("clinic", "relay-secret", True)]  # the password crossed inside TLS


def test_without_starttls_a_server_that_requires_it_refuses_the_message(authority, trusted):
    with Server(tls_context=server_context(authority), require_starttls=True) as server:
        with pytest.raises(PermanentDeliveryError, match="STARTTLS"):
            SmtpTransport(f"smtp://{HOST}:{server.controller.port}").send(a_message(), "n3")
    assert server.mailbox.messages == []


@pytest.mark.parametrize("mode", ["smtps", "starttls"])
def test_a_certificate_from_an_unknown_authority_is_refused(authority, mode, tmp_path, monkeypatch):
    stranger = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))  # the process trusts some CA, not the server's
    monkeypatch.setenv("SSL_CERT_FILE", str(stranger))
    options = {"ssl_context": server_context(authority)} if mode == "smtps" else {
        "tls_context": server_context(authority), "require_starttls": True}
    url = f"smtps://{HOST}:{{port}}" if mode == "smtps" else f"smtp://{HOST}:{{port}}?starttls=1"
    with Server(**options) as server:
        with pytest.raises(ssl.SSLCertVerificationError):
            SmtpTransport(url.format(port=server.controller.port)).send(a_message(), "n4")
    assert server.mailbox.messages == []
