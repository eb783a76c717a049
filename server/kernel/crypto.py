"""Secrets at rest: phone numbers and WeChat session keys.

Keys are derived from ``WENMING_SECRET_KEY`` with HKDF, one per purpose, so a
leaked phone-hash key says nothing about the encryption key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive_key(secret_key: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"wenming", info=purpose.encode()).derive(
        secret_key.encode()
    )


class Vault:
    """Encrypts small personal values and makes keyed lookup hashes of them."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(secret_key, "encrypt-v1")))
        self._hash_key = derive_key(secret_key, "lookup-hash-v1")

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str | None:
        """The clear value, or None when the secret key changed since it was stored."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """138****0000: enough to recognise one's own number, useless to anyone else."""
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"
