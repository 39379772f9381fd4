"""Throwaway certificate authorities and certificates for the AMI-over-TLS tests.

``make_pki(folder)`` writes a CA, a PBX certificate it signed for ``localhost``,
``pbx.example.test`` and 127.0.0.1, a client certificate it signed, and a second CA that
signed nothing the PBX shows. EC P-256 keys: quick to make on every run.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PBX_NAME = "pbx.example.test"


@dataclass(frozen=True)
class Pki:
    ca_file: str  # the CA that signed the PBX's and the client's certificates
    other_ca_file: str  # a CA that signed neither
    server_cert_file: str
    server_key_file: str
    client_cert_file: str
    client_key_file: str
    self_signed_cert_file: str  # a PBX certificate signed by its own key (no CA)
    self_signed_key_file: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> str:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path)


def _write_cert(cert: x509.Certificate, path: Path) -> str:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def _builder(
    subject: str, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
    )


def _ca(folder: Path, stem: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(f"{stem} test CA", _name(f"{stem} test CA"), key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return key, cert, _write_cert(cert, folder / f"{stem}-ca.pem")


def _leaf(
    folder: Path,
    stem: str,
    issuer_key: ec.EllipticCurvePrivateKey | None,
    issuer: x509.Certificate | None,
    usage: x509.ObjectIdentifier,
) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.DNSName(PBX_NAME),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    issuer_name = issuer.subject if issuer is not None else _name(stem)
    builder = (
        _builder(stem, issuer_name, key.public_key())
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()),
            critical=False,
        )
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return _write_cert(cert, folder / f"{stem}.pem"), _write_key(key, folder / f"{stem}.key")


def make_pki(folder: Path) -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert, ca_file = _ca(folder, "trusted")
    _, _, other_ca_file = _ca(folder, "other")
    server_cert, server_key = _leaf(folder, "pbx", ca_key, ca_cert, ExtendedKeyUsageOID.SERVER_AUTH)
    client_cert, client_key = _leaf(
        folder, "service", ca_key, ca_cert, ExtendedKeyUsageOID.CLIENT_AUTH
    )
    lone_cert, lone_key = _leaf(folder, "lone", None, None, ExtendedKeyUsageOID.SERVER_AUTH)
    return Pki(
        ca_file=ca_file,
        other_ca_file=other_ca_file,
        server_cert_file=server_cert,
        server_key_file=server_key,
        client_cert_file=client_cert,
        client_key_file=client_key,
        self_signed_cert_file=lone_cert,
        self_signed_key_file=lone_key,
    )
