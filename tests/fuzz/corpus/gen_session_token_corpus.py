#!/usr/bin/python3
"""Seeds for tests/fuzz/session_token_fuzz.cc, written with Python's hmac (not
our code). Mode byte 0: an id string as a client sends it; mode 1: a body
that the target gives a valid MAC under its fixed key (1..32)."""

import base64
import hashlib
import hmac
import os
import struct

KEY = bytes(range(1, 33))
LABEL = b"atls verifier session v1\x00"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "session_token")


def body(binding, iat, exp, nonce, akpub=b"", version=1):
    return (bytes([version, binding]) + struct.pack(">QQ", iat, exp) + bytes([len(nonce)]) +
            nonce + struct.pack(">H", len(akpub)) + akpub)


def sealed(b):
    tag = hmac.new(KEY, LABEL + b, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(b + tag).rstrip(b"=")


# A P-256 SPKI prefix and an arbitrary point: the id format does not parse keys.
AKPUB = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200") + b"\x04" + b"\x11" * 64
seeds = {
    "nonce_binding": b"\x01" + body(0, 1699999000, 1700000300, b"\x22" * 32),
    "key_binding": b"\x01" + body(1, 1699999000, 1700000300, b"\x33" * 8, AKPUB),
    "tls_binding": b"\x01" + body(2, 1699999000, 1700000300, b"\x44" * 64),
    "expired": b"\x01" + body(0, 1600000000, 1600000300, b"\x55" * 16),
    "bad_version": b"\x01" + body(0, 1699999000, 1700000300, b"\x22" * 32, version=2),
    "key_without_akpub": b"\x01" + body(1, 1699999000, 1700000300, b"\x22" * 32),
    "id_valid": b"\x00" + sealed(body(0, 1699999000, 1700000300, b"\x66" * 32)),
    "id_forged": b"\x00" + sealed(body(0, 1699999000, 1700000300, b"\x66" * 32))[:-2] + b"AA",
    "id_not_base64": b"\x00" + b"!!not-an-id!!",
}
os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
