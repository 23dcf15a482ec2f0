"""The SMTP sender against a relay that demands STARTTLS and a login, as real
providers do: the certificate is checked (a private CA is trusted only when
SSPR_SMTP_CA_FILE names it), no login is sent before TLS, and a failure is a
DeliveryFailed, which the outbox retries.  The start-up checks of these
settings are in tests/test_config.py."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sspr.errors import DeliveryFailed
from sspr.verification.email import SmtpMailSender
from tests.servers import SmtpServer

LOGIN = ("relay-user", "relay password 7")


@dataclass
class Mail:
    id: int = 1
    recipient: str = "alice@mail.example.org"
    subject: str = "Your code"
    body_text: str = "123456 is your code."
    body_html: str = "<p>123456 is your code.</p>"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (its own private CA): (cert file, key file)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sspr test relay")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "relay.pem", folder / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture
def relay(certificate):
    """An SMTP server that requires STARTTLS, then a login."""
    cert_file, key_file = certificate
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    server = SmtpServer(tls=tls, credentials=LOGIN)
    server.start()
    yield server
    server.stop()


def sender(relay, **overrides):
    settings = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": relay.port,
        "SMTP_USERNAME": LOGIN[0],
        "SMTP_PASSWORD": LOGIN[1],
        "SMTP_STARTTLS": True,
        "SMTP_CA_FILE": None,
        "SMTP_TIMEOUT": 5.0,
        "MAIL_FROM": "no-reply@reset.example.test",
    }
    settings.update(overrides)
    return SmtpMailSender(settings)


def test_starttls_and_login_deliver_the_mail(relay, certificate):
    """With STARTTLS, the relay's CA trusted and the right login, the mail arrives."""
    sender(relay, SMTP_CA_FILE=str(certificate[0])).send(Mail())

    received = relay.wait_for("alice@mail.example.org")
    assert "123456" in received.text
    assert relay.logins == [LOGIN[0]]


def test_a_batch_starts_tls_and_logs_in_once_for_all_its_mails(relay, certificate):
    """Mails sent as a batch share one connection: one STARTTLS, one login, then every mail."""
    recipients = [f"user{n}@mail.example.org" for n in range(3)]

    with sender(relay, SMTP_CA_FILE=str(certificate[0])).batch() as batch:
        for n, to in enumerate(recipients):
            batch.send(Mail(id=n, recipient=to))

    assert [m.recipients for m in relay.inbox.items] == [[to] for to in recipients]
    assert relay.logins == [LOGIN[0]]
    assert len(relay.connections) == 1


def test_an_untrusted_certificate_stops_the_delivery(relay):
    """Without the private CA the certificate is refused: no login is sent, nothing is delivered."""
    with pytest.raises(DeliveryFailed, match="CERTIFICATE_VERIFY_FAILED"):
        sender(relay).send(Mail())

    assert relay.logins == [] and relay.inbox.items == []


def test_a_wrong_login_is_a_failed_delivery(relay, certificate):
    """A refused login raises DeliveryFailed (the outbox retries later) and delivers nothing."""
    with pytest.raises(DeliveryFailed):
        sender(relay, SMTP_CA_FILE=str(certificate[0]), SMTP_PASSWORD="not it").send(Mail())

    assert relay.inbox.items == []


def test_without_starttls_a_relay_that_demands_it_refuses(relay):
    """A sender configured without STARTTLS gets refused by such a relay, and says so."""
    with pytest.raises(DeliveryFailed):
        sender(relay, SMTP_STARTTLS=False, SMTP_USERNAME=None).send(Mail())

    assert relay.inbox.items == []
