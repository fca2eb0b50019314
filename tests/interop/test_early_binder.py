#!/usr/bin/python3
"""Recomputes the early-attestation binder from the wire, independently.

draft-fossati-seat-early-attestation §5.1.1 (docs/protocol-choices.md,
"Intra-handshake: early-attestation"):
  attest_base = HKDF-Expand-Label(zeros(Hash.length), "attestation base",
                                  Transcript-Hash(ClientHello...ServerHello), Hash.length)
  binder      = HKDF-Expand-Label(attest_base, "attestation", Hash(SPKI), Hash.length)
with RFC 8446 §4.4.1's message_hash in place of ClientHello1 after a
HelloRetryRequest.

The early_binder_test cases EarlyBinder.* run TLS 1.3 handshakes over memory
BIOs and, with ATLS_EARLY_BINDER_OUT set, write every byte each side sent,
the server certificate and the binder that atls's transcript recorder and
derivation computed. This script parses the TLS records itself (the hellos
are sent in the clear), rebuilds the transcript, and derives the binder with
python3-cryptography's HKDF-Expand and hashes. Exits non-zero on a mismatch.
"""

import os
import struct
import subprocess
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
SUITE_HASH = {0x1301: hashes.SHA256, 0x1302: hashes.SHA384, 0x1303: hashes.SHA256}


def handshake_messages(stream: bytes):
    """The handshake messages of the plaintext records at the start of one
    direction (content type 22), reassembled across records; stops at the
    first encrypted record (23). ChangeCipherSpec (20) is skipped."""
    buf, out, pos = b"", [], 0
    while pos + 5 <= len(stream):
        ctype, _version, length = struct.unpack(">BHH", stream[pos:pos + 5])
        body = stream[pos + 5:pos + 5 + length]
        pos += 5 + length
        if ctype == 23:
            break
        if ctype != 22:
            continue
        buf += body
        while len(buf) >= 4:
            n = int.from_bytes(buf[1:4], "big")
            if len(buf) < 4 + n:
                break
            out.append(buf[:4 + n])
            buf = buf[4 + n:]
    return out


def digest(alg, data: bytes) -> bytes:
    h = hashes.Hash(alg())
    h.update(data)
    return h.finalize()


def hkdf_expand_label(alg, secret: bytes, label: str, context: bytes, length: int) -> bytes:
    full = b"tls13 " + label.encode()
    info = struct.pack(">H", length) + bytes([len(full)]) + full + bytes([len(context)]) + context
    return HKDFExpand(algorithm=alg(), length=length, info=info).derive(secret)


def binder_from_wire(c2s: bytes, s2c: bytes, cert_pem: bytes):
    client = [m for m in handshake_messages(c2s) if m[0] == 1]
    server = [m for m in handshake_messages(s2c) if m[0] == 2]
    hello_retry = len(server) == 2 and server[0][6:38] == HRR_RANDOM
    sh = server[-1]
    if sh[6:38] == HRR_RANDOM:
        raise AssertionError("the last ServerHello is a HelloRetryRequest")
    sid_len = sh[38]
    suite = int.from_bytes(sh[39 + sid_len:41 + sid_len], "big")
    alg = SUITE_HASH[suite]
    size = alg.digest_size
    if hello_retry:
        assert len(client) == 2, "a HelloRetryRequest needs two ClientHellos"
        message_hash = bytes([254, 0, 0, size]) + digest(alg, client[0])
        transcript = message_hash + server[0] + client[1] + sh
    else:
        assert len(client) == 1 and len(server) == 1
        transcript = client[0] + sh
    # The leaf: the first PEM block (load_pem_x509_certificate reads the first).
    cert = x509.load_pem_x509_certificate(cert_pem)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    base = hkdf_expand_label(alg, bytes(size), "attestation base", digest(alg, transcript), size)
    return hkdf_expand_label(alg, base, "attestation", digest(alg, spki), size), hello_retry, alg


def main() -> int:
    build = os.environ.get("ATLS_BUILD_DIR", "build")
    binary = os.path.join(build, "tests", "early_binder_test")
    failures = 0
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, ATLS_EARLY_BINDER_OUT=out)
        run = subprocess.run([binary, "--gtest_filter=EarlyBinder.*"], env=env,
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            print(run.stdout[-4000:], run.stderr[-4000:])
            return 1
        expected = {"plain": (False, hashes.SHA256), "hrr": (True, hashes.SHA256),
                    "sha384": (False, hashes.SHA384), "a": (False, hashes.SHA256),
                    "b": (False, hashes.SHA256)}
        for name, (want_hrr, want_alg) in expected.items():
            base = os.path.join(out, name)
            with open(base + ".c2s", "rb") as f:
                c2s = f.read()
            with open(base + ".s2c", "rb") as f:
                s2c = f.read()
            with open(base + ".cert.pem", "rb") as f:
                pem = f.read()
            with open(base + ".binder", encoding="ascii") as f:
                reported = bytes.fromhex(f.read().strip())
            ours, hello_retry, alg = binder_from_wire(c2s, s2c, pem)
            ok = ours == reported and hello_retry == want_hrr and alg is want_alg
            print(f"{name}: hrr={hello_retry} hash={alg.name} "
                  f"{'match' if ok else 'MISMATCH'} {ours.hex()}")
            if not ok:
                print(f"  atls reported {reported.hex()}")
                failures += 1
            # The other reading of a HelloRetryRequest transcript (the
            # messages as sent) must give another value: the test would
            # otherwise not tell the two apart.
            if want_hrr:
                client = [m for m in handshake_messages(c2s) if m[0] == 1]
                server = [m for m in handshake_messages(s2c) if m[0] == 2]
                raw = client[0] + server[0] + client[1] + server[1]
                size = alg.digest_size
                cert = x509.load_pem_x509_certificate(pem)
                spki = cert.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
                b = hkdf_expand_label(alg, bytes(size), "attestation base", digest(alg, raw), size)
                other = hkdf_expand_label(alg, b, "attestation", digest(alg, spki), size)
                if other == reported:
                    print("  the raw-messages reading gives the same value")
                    failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
