#!/usr/bin/python3
"""Writes the seed corpora of the attested-TLS fuzz targets.

  corpus/frame/          atls stream: preamble + frames (first byte = driver flags)
  corpus/auth_request/   RFC 9261 CertificateRequest / ClientCertificateRequest
  corpus/authenticator/  RFC 9261 authenticators (Certificate, CertificateVerify, Finished)
  corpus/negotiation/    atls_negotiation offer / answer / scheme list (first byte = codec)

Encodings are written here from the specs (RFC 9261, RFC 8446 §4.4, docs/wire-profile.md
§1.2/§1.7), independently of the C++ encoders. Everything is deterministic:
the authenticator uses an Ed25519 key from a fixed seed and fixed dates, and
fixed stand-ins for the exporter values. Files are named valid-* or bad-*.
Run from anywhere; it rewrites only the four directories above.
"""

import datetime
import hashlib
import hmac
import os
import struct

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))


def u8(v):
    return struct.pack(">B", v)


def u16(v):
    return struct.pack(">H", v)


def u24(v):
    return struct.pack(">I", v)[1:]


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def vec24(b):
    return u24(len(b)) + b


def hs(t, body):
    return u8(t) + vec24(body)


def ext(t, data):
    return u16(t) + vec16(data)


CMW_ATTESTATION, ATLS_SCHEMES = 0xFFA0, 0xFFA1


def scheme_media(mt):
    return b"\x00\x01" + vec16(mt)


def scheme_cf(cf):
    return b"\x00\x00" + u16(cf)


def scheme_result(vid):
    return b"\x01" + vec16(vid)


def sigalgs(*schemes):
    return ext(0x000D, vec16(b"".join(u16(s) for s in schemes)))


def request(t, ctx, exts):
    return hs(t, vec8(ctx) + vec16(b"".join(exts)))


def write(sub, name, data):
    d = os.path.join(HERE, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def clean(sub):
    d = os.path.join(HERE, sub)
    if os.path.isdir(d):
        for n in os.listdir(d):
            if n.startswith(("valid-", "bad-")):
                os.remove(os.path.join(d, n))


def fixed_cert():
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "atls fuzz seed")])
    t0 = datetime.datetime(2026, 1, 1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(t0)
        .not_valid_after(t0 + datetime.timedelta(days=365))
        .sign(key, None)
    )
    return key, cert.public_bytes(serialization.Encoding.DER)


def main():
    for sub in ("frame", "auth_request", "authenticator", "negotiation"):
        clean(sub)

    # --- requests -------------------------------------------------------
    ctx = bytes(range(32))
    schemes = vec16(scheme_media(b"application/eat+cwt") + scheme_result(b"https://v.example"))
    req17 = request(17, ctx, [sigalgs(0x0403, 0x0807), ext(CMW_ATTESTATION, b""), ext(ATLS_SCHEMES, schemes)])
    req13 = request(13, b"", [sigalgs(0x0804)])
    write("auth_request", "valid-ccr-attestation.bin", req17)
    write("auth_request", "valid-cr-minimal.bin", req13)
    write("auth_request", "valid-unknown-ext.bin", request(13, b"\x01", [ext(0x7777, b"x"), sigalgs(0x0403)]))
    write("auth_request", "bad-no-sigalgs.bin", request(17, ctx, [ext(CMW_ATTESTATION, b"")]))
    write("auth_request", "bad-dup-ext.bin", request(17, ctx, [sigalgs(0x0403), sigalgs(0x0403)]))
    write("auth_request", "bad-odd-sigalgs.bin", request(17, ctx, [ext(0x000D, b"\x00\x03\x04\x03\x05")]))
    write("auth_request", "bad-trailing.bin", req17 + b"\x00")
    write("auth_request", "bad-truncated.bin", req17[:-3])
    write("auth_request", "bad-type.bin", b"\x0b" + req17[1:])

    # --- authenticators ---------------------------------------------------
    key, der = fixed_cert()
    hc, fk = b"\x11" * 32, b"\x22" * 32  # stand-ins for the exporter values
    cmw = b'["application/eat+jwt","e30"]'
    leaf_exts = vec16(ext(CMW_ATTESTATION, vec16(cmw)))
    cert = hs(11, vec8(ctx) + vec24(vec24(der) + leaf_exts + vec24(der) + vec16(b"")))
    th = hashlib.sha256(hc + req17 + cert).digest()
    sig = key.sign(b"\x20" * 64 + b"Exported Authenticator\x00" + th)
    cv = hs(15, u16(0x0807) + vec16(sig))
    fin = hs(20, hmac.new(fk, hashlib.sha256(hc + req17 + cert + cv).digest(), hashlib.sha256).digest())
    auth = cert + cv + fin
    empty_cert = hs(11, vec8(ctx) + vec24(b""))
    empty = hs(20, hmac.new(fk, hashlib.sha256(hc + req17 + empty_cert).digest(), hashlib.sha256).digest())
    write("authenticator", "valid-ed25519-cmw.bin", auth)
    write("authenticator", "valid-empty.bin", empty)
    write("authenticator", "bad-trailing.bin", auth + b"\x00")
    write("authenticator", "bad-truncated.bin", auth[:-1])
    write("authenticator", "bad-no-finished.bin", cert + cv)
    write("authenticator", "bad-empty-list.bin", empty_cert + cv + fin)
    write("authenticator", "bad-order.bin", cv + cert + fin)

    # --- frames (first byte: chunk size - 1 in bits 0-5, 0x40 = expect
    # preamble, 0x80 = explicit preamble check) --------------------------
    pre = b"ATLS\x01"

    def frame(t, body):
        return u8(t) + vec24(body)

    alert = frame(4, b"\x02" + vec16(b"attestation failed"))
    stream = pre + frame(1, req17) + frame(2, auth) + frame(3, b"hello") + frame(3, b"") + alert
    write("frame", "valid-stream-whole.bin", b"\x7f" + stream)
    write("frame", "valid-stream-bytewise.bin", b"\xc0" + stream)
    write("frame", "valid-no-preamble.bin", b"\x07" + frame(3, b"data") + frame(4, b"\x05\x00\x00"))
    write("frame", "bad-plain-tls-client.bin", b"\xc3" + b"GET / HTTP/1.1\r\n\r\n")
    write("frame", "bad-oversize-header.bin", b"\x40" + pre + b"\x03\xff\xff\xff")
    write("frame", "bad-unknown-type.bin", b"\x40" + pre + b"\x09\x00\x00\x00")
    write("frame", "bad-alert-utf8.bin", b"\x00" + frame(4, b"\x01\x00\x01\xff"))

    # --- negotiation (first byte % 3: 0 offer, 1 answer, 2 scheme list) ----
    offer = u8(1) + vec16(scheme_media(b"application/eat+cwt") + scheme_cf(10572)) + vec16(scheme_result(b"v"))
    answer = u8(1) + vec16(scheme_cf(10572)) + u8(1)
    write("negotiation", "valid-offer.bin", b"\x00" + offer)
    write("negotiation", "valid-offer-empty.bin", b"\x00" + u8(3) + vec16(b"") + vec16(b""))
    write("negotiation", "valid-answer.bin", b"\x01" + answer)
    write("negotiation", "valid-answer-declines.bin", b"\x01" + u8(1) + vec16(b"") + u8(0))
    write("negotiation", "valid-schemes.bin", b"\x02" + schemes)
    write("negotiation", "bad-offer-trailing.bin", b"\x00" + offer + b"\x00")
    write("negotiation", "bad-answer-two-schemes.bin", b"\x01" + u8(1) + vec16(scheme_cf(1) + scheme_cf(2)) + u8(0))
    write("negotiation", "bad-answer-wants-2.bin", b"\x01" + u8(1) + vec16(b"") + u8(2))
    write("negotiation", "bad-unknown-mechanism.bin", b"\x02" + vec16(b"\x07\x00"))


if __name__ == "__main__":
    main()
