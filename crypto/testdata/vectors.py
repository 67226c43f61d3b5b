#!/usr/bin/env python3
"""Recompute the known-answer vectors of package crypto's tests with an
independent implementation (pyca/cryptography and hashlib), so that the Go
code is checked against the formats as documented rather than against itself.

    python3 crypto/testdata/vectors.py
"""
import base64
import hashlib
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CHUNK = 64 * 1024


def stream(fk, salt, pt):
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
               info=b"guardian stream v1").derive(fk)
    aead = AESGCM(key)
    out = b"GRDNENC\x01" + salt
    chunks = [pt[i:i + CHUNK] for i in range(0, len(pt), CHUNK)] or [b""]
    for i, c in enumerate(chunks):
        flag = b"\x01" if i == len(chunks) - 1 else b"\x00"
        out += aead.encrypt(i.to_bytes(11, "big") + flag, c, None)
    return out


def pattern(n):
    return bytes(i % 251 for i in range(n))


fk = bytes(range(32))
salt = bytes(range(0xA0, 0xB0))
for n in [0, 1, CHUNK, 2 * CHUNK + 1234]:
    ct = stream(fk, salt, pattern(n))
    print("stream", n, len(ct), hashlib.sha256(ct).hexdigest())

mk = bytes(range(0x40, 0x60))
dk = bytes(range(0x60, 0x80))
nonce = bytes(range(0x80, 0x8C))
ad = b"guardian data key v1\x00" + struct.pack(">q", 42)
print("wrapped data key", (b"\x01" + nonce + AESGCM(mk).encrypt(nonce, dk, ad)).hex())

fk2 = bytes(range(0xC0, 0xE0))
nonce = bytes(range(0x90, 0x9C))
ad = b"guardian file key v1\x00" + b"0123456789abcdef0123456789abcdef"
print("wrapped file key", (b"\x01" + nonce + AESGCM(dk).encrypt(nonce, fk2, ad)).hex())

psalt = bytes(range(16))
h = hashlib.pbkdf2_hmac("sha256", b"correct horse battery staple", psalt, 10000, 32)
b64 = lambda b: base64.b64encode(b).decode().rstrip("=")
print("password hash", "pbkdf2-sha256$10000$" + b64(psalt) + "$" + b64(h))

print("master key file", "GUARDIAN-MASTER-KEY-1 " + base64.b64encode(mk).decode())

nonce = bytes(range(0xA0, 0xAC))
ad = b"guardian document v1\x00" + struct.pack(">q", 42) + b"report.json"
print("sealed document", (b"\x01" + nonce + AESGCM(dk).encrypt(nonce, b'{"synthetic": true}', ad)).hex())
