"""AMI over TLS, client side: the ``ssl.SSLContext`` an AMI link connects with, the name
its certificate must carry, and the words for why a handshake failed.

Plain functions of the settings: the AMI client only hands the context to
``create_connection``. A failed check never falls back to plain TCP, and nothing here ever
sees the AMI secret.
"""

from __future__ import annotations

import ssl

from callcenter.core.settings_error import ConfigError
from callcenter.telephony.settings import AmiSettings

ASTERISK_PLAIN_PORT = 5038
ASTERISK_TLS_PORT = 5039  # manager.conf tlsbindaddr's default port


class AmiTlsSettingsError(ConfigError):
    """A TLS file cannot be used (not PEM, key not matching the certificate...); the
    message names the setting and the file. ``config check`` and the service's start stop
    on it."""


def client_tls_context(ami: AmiSettings) -> ssl.SSLContext | None:
    """The context an AMI link opens its connection with, or None for plain TCP.

    TLS 1.2 at least. With ``tls_verify`` the PBX's certificate must chain to
    ``tls_ca_file`` (else to the system's trust store) and carry the expected name.
    Raises ``AmiTlsSettingsError`` when a file cannot be loaded.
    """
    if not ami.tls:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # hostname check and CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ami.tls_verify:
        if ami.tls_ca_file:
            try:
                context.load_verify_locations(cafile=ami.tls_ca_file)
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                raise AmiTlsSettingsError(
                    f"tls_ca_file {ami.tls_ca_file}: not a PEM CA bundle ({_reason(exc)})"
                ) from None
        else:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    else:
        context.check_hostname = False  # must go before verify_mode may be lowered
        context.verify_mode = ssl.CERT_NONE
    if ami.tls_cert_file:
        try:
            context.load_cert_chain(
                ami.tls_cert_file, ami.tls_key_file or None, password=_no_passphrase
            )
        except _EncryptedKey:
            raise AmiTlsSettingsError(
                f"tls_key_file {ami.tls_key_file}: the key is encrypted; give an unencrypted "
                "key readable only by the service"
            ) from None
        except (OSError, ValueError) as exc:
            raise AmiTlsSettingsError(
                f"tls_cert_file {ami.tls_cert_file} / tls_key_file {ami.tls_key_file}: "
                f"not a PEM certificate and its key ({_reason(exc)})"
            ) from None
    return context


def tls_server_name(ami: AmiSettings) -> str | None:
    """The name the certificate is checked against (and sent as SNI): ``tls_server_name``,
    else the host. None for plain TCP."""
    if not ami.tls:
        return None
    return ami.tls_server_name or ami.host


def describe_tls(ami: AmiSettings) -> str:
    """How the AMI link is protected, in a line for ``config check`` and the start log."""
    where = f"AMI {ami.host}:{ami.port}"
    if not ami.tls:
        return f"{where}: tls off (plain TCP: the secret and callers' numbers travel in clear)"
    if ami.tls_verify:
        trust = f"CA file {ami.tls_ca_file}" if ami.tls_ca_file else "the system trust store"
        checked = f"certificate checked against {trust}, name {tls_server_name(ami)!r}"
    else:
        checked = "certificate NOT checked (tls_verify: false, for testing only)"
    client = ", client certificate " + ami.tls_cert_file if ami.tls_cert_file else ""
    line = f"{where}: tls on, {checked}{client}"
    if ami.port == ASTERISK_PLAIN_PORT:
        line += (
            f" (port {ASTERISK_PLAIN_PORT} is Asterisk's plain AMI port; "
            f"tlsbindaddr listens on {ASTERISK_TLS_PORT} by default)"
        )
    return line


def tls_failure_reason(exc: ssl.SSLError) -> str:
    """Why a TLS handshake failed, in words an operator can act on."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the PBX's certificate was not accepted: {exc.verify_message or _reason(exc)}"
    reason = _reason(exc)
    if exc.reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"):
        reason += (
            " (the port answers without TLS: is it manager.conf's tlsbindaddr, "
            f"{ASTERISK_TLS_PORT} by default?)"
        )
    return f"TLS handshake failed: {reason}"


class _EncryptedKey(Exception):
    pass


def _no_passphrase() -> bytes:
    # Without a callback OpenSSL would prompt on the terminal and hang a service.
    raise _EncryptedKey


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).replace("_", " ").lower()
    return getattr(exc, "strerror", None) or str(exc)
