"""Encryption of secret settings at rest: Fernet with a key derived (HKDF-SHA256)
from the app's secret key. Changing ``UPWATCH_SECRET_KEY`` makes stored secrets
unreadable; :class:`SecretDecryptError` says so instead of returning garbage."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"upwatch settings encryption v1"


class SecretDecryptError(Exception):
    """A stored secret cannot be decrypted with the current secret key."""


def derive_fernet_key(secret_key: str) -> bytes:
    if not secret_key:
        raise ValueError("the secret key is empty")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"upwatch", info=_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def fernet_for(secret_key: str) -> Fernet:
    return Fernet(derive_fernet_key(secret_key))


def encrypt(secret_key: str, plaintext: str) -> str:
    return fernet_for(secret_key).encrypt(plaintext.encode()).decode()


def decrypt(secret_key: str, token: str) -> str:
    try:
        return fernet_for(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretDecryptError(
            "a stored secret cannot be decrypted: was UPWATCH_SECRET_KEY changed?"
        ) from None
