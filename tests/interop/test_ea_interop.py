#!/usr/bin/python3
"""Cross-checks atls's RFC 9261 Exported Authenticators with an independent
Python implementation, over a real loopback TLS 1.3 connection.

The C++ side is $ATLS_EA_PEER (tests/interop/ea_peer.cc, built as
atls_ea_peer): a TLS server that speaks the atls stream (docs/wire-profile.md §1.2).
This script is the TLS client (pyOpenSSL, Connection.export_keying_material)
and re-implements, from RFC 9261 and docs/wire-profile.md §1.3-§1.5 only:
  * the exporter labels of the sender's role, empty context, Hash.length;
  * ClientCertificateRequest / CertificateRequest encoding;
  * Certificate ‖ CertificateVerify ‖ Finished (signatures with
    python3-cryptography, HMAC with hashlib) and the empty authenticator;
  * the binder Hash(SPKI ‖ TLS-Exporter("Attestation", context, 32)).

(a) Python requests (17); C++ authenticates; Python validates.
(b) C++ requests (13); Python authenticates, with cmw_attestation on the
    leaf; C++ validates and reports JSON in a DATA frame. Negative cases
    check the exact error code.
(c) C++ pushes a spontaneous authenticator as 0.5-RTT data right after its
    Finished (docs/wire-profile.md §1.9); Python validates it with the
    server's own context and no request in the transcript.
Prints "N passed, M failed"; exits non-zero on any failure.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID
from OpenSSL import SSL

CMW_ATTESTATION, ATLS_SCHEMES, SIG_ALGS = 0xFFA0, 0xFFA1, 0x000D
CMW_TYPE = "application/vnd.atls.test-binder"
PREAMBLE = b"ATLS\x01"
F_AUTH_REQUEST, F_AUTHENTICATOR, F_DATA, F_ALERT = 1, 2, 3, 4
ECDSA_P256, ECDSA_P384, ECDSA_P521, ED25519, PSS_256, PSS_384 = (
    0x0403, 0x0503, 0x0603, 0x0807, 0x0804, 0x0805)

RESULTS = []


def check(name, cond, detail=""):
    RESULTS.append((name, bool(cond)))
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))


# ---------------------------------------------------------------------------
# Encoding helpers (RFC 8446 §3 presentation language)

def u8(v):
    return struct.pack(">B", v)


def u16(v):
    return struct.pack(">H", v)


def u24(v):
    return struct.pack(">I", v)[1:]


def vec8(b):
    assert len(b) < 1 << 8
    return u8(len(b)) + b


def vec16(b):
    assert len(b) < 1 << 16
    return u16(len(b)) + b


def vec24(b):
    assert len(b) < 1 << 24
    return u24(len(b)) + b


def handshake(msg_type, body):
    return u8(msg_type) + vec24(body)


def extension(t, data):
    return u16(t) + vec16(data)


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, n):
        return int.from_bytes(self.take(n), "big")

    def vec(self, n):
        return self.take(self.uint(n))

    def done(self):
        return self.pos == len(self.data)


def parse_extensions(block):
    r, out = Reader(block), []
    while not r.done():
        t = r.uint(2)
        if any(t == x for x, _ in out):
            raise ValueError("duplicate extension")
        out.append((t, r.vec(2)))
    return out


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


# ---------------------------------------------------------------------------
# RFC 9261 pieces

class Conn:
    """The client side of one connection to atls_ea_peer."""

    def __init__(self, suite, push=False, cmw_label=False):
        peer = os.environ.get("ATLS_EA_PEER") or os.path.join(
            os.environ.get("ATLS_BUILD_DIR", "build"), "tests", "atls_ea_peer")
        self.label = b"EXPORTER-cmw-attestation" if cmw_label else b"Attestation"
        self.proc = subprocess.Popen([peer, "--suite", suite] + (["--push"] if push else []) +
                                     (["--cmw-label"] if cmw_label else []),
                                     stdout=subprocess.PIPE)
        port = json.loads(self.proc.stdout.readline())["port"]
        sock = socket.create_connection(("127.0.0.1", port))
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
        self.tls = SSL.Connection(ctx, sock)
        self.tls.set_connect_state()
        self.tls.do_handshake()
        suite_name = self.tls.get_cipher_name()
        self.hash = hashlib.sha384 if suite_name.endswith("SHA384") else hashlib.sha256
        self.hlen = self.hash().digest_size
        self.buf = b""
        self.tls.sendall(PREAMBLE)

    def H(self, data):
        return self.hash(data).digest()

    def ekm(self, label, n, context=None):
        return self.tls.export_keying_material(label, n, context)

    def keys(self, sender_is_server):
        role = b"server" if sender_is_server else b"client"
        return (self.ekm(b"EXPORTER-" + role + b" authenticator handshake context", self.hlen),
                self.ekm(b"EXPORTER-" + role + b" authenticator finished key", self.hlen))

    def binder(self, spki, context):
        return self.H(spki + self.ekm(self.label, 32, context))

    def send(self, t, body):
        self.tls.sendall(u8(t) + vec24(body))

    def _fill(self, n):
        while len(self.buf) < n:
            try:
                chunk = self.tls.recv(65536)
            except SSL.ZeroReturnError:
                chunk = b""
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk

    def read_preamble(self):
        self._fill(5)
        pre, self.buf = self.buf[:5], self.buf[5:]
        return pre

    def recv_frame(self):
        self._fill(4)
        t, n = self.buf[0], int.from_bytes(self.buf[1:4], "big")
        self._fill(4 + n)
        body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return t, body

    def report(self):
        t, body = self.recv_frame()
        if t != F_DATA:
            raise ValueError(f"expected DATA, got frame type {t}")
        return json.loads(body)

    def close(self):
        try:
            self.send(F_DATA, b"bye")
        except Exception:  # the peer may have closed already
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode


def build_request(msg_type, context, sigalgs, attestation=True):
    exts = [extension(SIG_ALGS, vec16(b"".join(u16(s) for s in sigalgs)))]
    if attestation:
        media = CMW_TYPE.encode()
        exts.append(extension(CMW_ATTESTATION, b""))
        exts.append(extension(ATLS_SCHEMES, vec16(b"\x00\x01" + vec16(media))))
    return handshake(msg_type, vec8(context) + vec16(b"".join(exts)))


def parse_request(data):
    r = Reader(data)
    t, body = r.uint(1), r.vec(3)
    if not r.done():
        raise ValueError("trailing bytes")
    b = Reader(body)
    context, exts = b.vec(1), parse_extensions(b.vec(2))
    if not b.done():
        raise ValueError("trailing body")
    d = dict(exts)
    sa = Reader(d[SIG_ALGS])
    lst = sa.vec(2)
    return {"type": t, "context": context, "extensions": d,
            "sigalgs": [int.from_bytes(lst[i:i + 2], "big") for i in range(0, len(lst), 2)]}


def cv_content(conn, hc, request, certificate):
    return b"\x20" * 64 + b"Exported Authenticator\x00" + conn.H(hc + request + certificate)


def sign(key, scheme, msg):
    if scheme in (ECDSA_P256, ECDSA_P384, ECDSA_P521):
        h = {ECDSA_P256: hashes.SHA256(), ECDSA_P384: hashes.SHA384(), ECDSA_P521: hashes.SHA512()}
        return key.sign(msg, ec.ECDSA(h[scheme]))  # DER, as TLS 1.3 wants
    if scheme == ED25519:
        return key.sign(msg)
    h = hashes.SHA256() if scheme == PSS_256 else hashes.SHA384()
    return key.sign(msg, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)


def verify(pub, scheme, sig, msg):
    if scheme in (ECDSA_P256, ECDSA_P384):
        curve = ec.SECP256R1 if scheme == ECDSA_P256 else ec.SECP384R1
        h = hashes.SHA256() if scheme == ECDSA_P256 else hashes.SHA384()
        if not isinstance(pub, ec.EllipticCurvePublicKey) or not isinstance(pub.curve, curve):
            raise InvalidSignature("key does not fit the scheme")
        pub.verify(sig, msg, ec.ECDSA(h))
    elif scheme == ED25519:
        pub.verify(sig, msg)
    elif scheme in (PSS_256, PSS_384):
        h = hashes.SHA256() if scheme == PSS_256 else hashes.SHA384()
        pub.verify(sig, msg, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    else:
        raise InvalidSignature(f"unknown scheme {scheme:#06x}")


def build_authenticator(conn, keys, request, context, entries, key, scheme,
                        tamper_sig=False, tamper_fin=False):
    """entries: list of (der, [(ext_type, data)]), leaf first."""
    hc, fk = keys
    lst = b"".join(vec24(der) + vec16(b"".join(extension(t, d) for t, d in exts))
                   for der, exts in entries)
    certificate = handshake(11, vec8(context) + vec24(lst))
    sig = sign(key, scheme, cv_content(conn, hc, request, certificate))
    if tamper_sig:
        sig = sig[:-1] + bytes([sig[-1] ^ 1])
    cv = handshake(15, u16(scheme) + vec16(sig))
    mac = hmac.new(fk, conn.H(hc + request + certificate + cv), conn.hash).digest()
    if tamper_fin:
        mac = bytes([mac[0] ^ 1]) + mac[1:]
    return certificate + cv + handshake(20, mac)


def empty_authenticator(conn, keys, request, context):
    hc, fk = keys
    certificate = handshake(11, vec8(context) + vec24(b""))
    return handshake(20, hmac.new(fk, conn.H(hc + request + certificate), conn.hash).digest())


def validate_authenticator(conn, keys, request, auth, spontaneous=None):
    """Independent RFC 9261 §5 validation; returns a dict or raises.
    spontaneous: for an authenticator without a request (request == b""),
    {"sigalgs": the ClientHello's, "extensions": the ClientHello's}; the
    context is then the sender's own."""
    hc, fk = keys
    req = dict(spontaneous, context=None) if spontaneous else parse_request(request)
    r = Reader(auth)
    msgs = []
    while not r.done():
        start = r.pos
        t, body = r.uint(1), r.vec(3)
        msgs.append((t, body, auth[start:r.pos]))
    if [m[0] for m in msgs] == [20]:
        expect = hmac.new(fk, conn.H(hc + request + handshake(11, vec8(req["context"]) + vec24(b""))),
                          conn.hash).digest()
        if not hmac.compare_digest(expect, msgs[0][1]):
            raise ValueError("bad Finished on empty authenticator")
        return {"empty": True}
    if [m[0] for m in msgs] != [11, 15, 20]:
        raise ValueError(f"message types {[m[0] for m in msgs]}")
    (_, cert_body, cert_msg), (_, cv_body, cv_msg), (_, fin_body, _) = msgs
    expect = hmac.new(fk, conn.H(hc + request + cert_msg + cv_msg), conn.hash).digest()
    if not hmac.compare_digest(expect, fin_body):
        raise ValueError("bad Finished")
    c = Reader(cert_body)
    context, lst = c.vec(1), c.vec(3)
    entries, lr = [], Reader(lst)
    while not lr.done():
        entries.append((lr.vec(3), parse_extensions(lr.vec(2))))
    v = Reader(cv_body)
    scheme, sig = v.uint(2), v.vec(2)
    if scheme not in req["sigalgs"]:
        raise ValueError("scheme not requested")
    leaf = x509.load_der_x509_certificate(entries[0][0])
    verify(leaf.public_key(), scheme, sig, cv_content(conn, hc, request, cert_msg))
    if req["context"] is not None and context != req["context"]:
        raise ValueError("context mismatch")
    cmw = None
    for i, (_, exts) in enumerate(entries):
        for t, data in exts:
            if t not in req["extensions"]:
                raise ValueError(f"unrequested extension {t:#x}")
            if t == CMW_ATTESTATION:
                if i != 0:
                    raise ValueError("cmw_attestation on a non-leaf entry")
                er = Reader(data)
                cmw = er.vec(2)
                if not er.done() or not cmw:
                    raise ValueError("bad cmw_attestation data")
    spki = leaf.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"empty": False, "scheme": scheme, "context": context, "cmw": cmw, "spki": spki,
            "chain": len(entries)}


# ---------------------------------------------------------------------------
# Identities

def make_cert(key, cn, issuer=None):
    issuer_key, issuer_name = (key, None) if issuer is None else issuer
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.utcnow()
    algo = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name or subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .sign(issuer_key, algo))
    return cert.public_bytes(serialization.Encoding.DER), subject


def spki_of(key):
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def cmw_for(binder):
    return json.dumps([CMW_TYPE, b64url(binder)], separators=(",", ":")).encode()


# ---------------------------------------------------------------------------
# Scenarios

def server_authenticates(conn, tag):
    """(a): ClientCertificateRequest from Python, authenticator from C++."""
    context = secrets.token_bytes(32)
    request = build_request(17, context, [ECDSA_P256, ED25519])
    conn.send(F_AUTH_REQUEST, request)
    t, auth = conn.recv_frame()
    rep = conn.report()
    check(f"{tag} (a) answer is an AUTHENTICATOR frame", t == F_AUTHENTICATOR, t)
    try:
        v = validate_authenticator(conn, conn.keys(True), request, auth)
    except (ValueError, InvalidSignature) as e:
        check(f"{tag} (a) Python validates the C++ authenticator", False, repr(e))
        return
    check(f"{tag} (a) Python validates the C++ authenticator", not v["empty"])
    check(f"{tag} (a) scheme ecdsa_secp256r1_sha256", v["scheme"] == ECDSA_P256, v["scheme"])
    check(f"{tag} (a) Finished is Hash.length", auth[-conn.hlen - 4] == 20 and
          int.from_bytes(auth[-conn.hlen - 3:-conn.hlen], "big") == conn.hlen)
    binder = conn.binder(v["spki"], context)
    check(f"{tag} (a) binder matches (wire profile 1.5)", v["cmw"] == cmw_for(binder) and
          rep["binder"] == binder.hex(), (v["cmw"], rep))
    # The server labels were used: the client labels must not validate it.
    try:
        validate_authenticator(conn, conn.keys(False), request, auth)
        check(f"{tag} (a) client labels do not validate it", False)
    except ValueError:
        check(f"{tag} (a) client labels do not validate it", True)


def server_refuses(conn):
    context = secrets.token_bytes(32)
    request = build_request(17, context, [PSS_256])  # the C++ attestation key is P-256
    conn.send(F_AUTH_REQUEST, request)
    t, auth = conn.recv_frame()
    rep = conn.report()
    ok = False
    try:
        ok = validate_authenticator(conn, conn.keys(True), request, auth)["empty"]
    except ValueError as e:
        print("  ", e)
    check("(a) no fitting scheme: C++ sends a valid empty authenticator",
          t == F_AUTHENTICATOR and ok and rep["sent"] == "empty" and len(auth) == 4 + conn.hlen)


def server_without_cmw(conn):
    context = secrets.token_bytes(32)
    request = build_request(17, context, [ECDSA_P256], attestation=False)
    conn.send(F_AUTH_REQUEST, request)
    _, auth = conn.recv_frame()
    conn.report()
    try:
        v = validate_authenticator(conn, conn.keys(True), request, auth)
        check("(a) request without cmw_attestation: no cmw in the Certificate", v["cmw"] is None)
    except (ValueError, InvalidSignature) as e:
        check("(a) request without cmw_attestation: no cmw in the Certificate", False, repr(e))


def ask(conn):
    conn.send(F_DATA, b"request")
    t, request = conn.recv_frame()
    if t != F_AUTH_REQUEST:
        raise ValueError(f"expected AUTH_REQUEST, got {t}")
    return request, parse_request(request)


def client_authenticates(conn, name, make, expect_code, **kw):
    """(b): CertificateRequest from C++, authenticator from Python."""
    request, req = ask(conn)
    auth = make(request, req, **kw)
    conn.send(F_AUTHENTICATOR, auth)
    rep = conn.report()
    good = rep["code"] == expect_code
    if expect_code == "Ok":
        good = good and rep["ok"] and rep.get("binder_ok") is True
    check(f"(b) {name} -> {expect_code}", good, rep)
    return rep


def run_main_session(suite, tag):
    conn = Conn(suite)
    check(f"{tag} TLS 1.3 negotiated", conn.tls.get_protocol_version_name() == "TLSv1.3")
    check(f"{tag} cipher suite {suite}", conn.tls.get_cipher_name() == suite,
          conn.tls.get_cipher_name())
    check(f"{tag} peer sends the preamble", conn.read_preamble() == PREAMBLE)

    server_authenticates(conn, tag)

    p256 = ec.generate_private_key(ec.SECP256R1())
    p256_der, _ = make_cert(p256, "python attester")

    def std(request, req, key=p256, der=p256_der, scheme=ECDSA_P256, labels_server=False,
            context=None, leaf_exts=None, chain=(), **tamper):
        ctx = req["context"] if context is None else context
        binder = conn.binder(spki_of(key), req["context"])
        exts = [(CMW_ATTESTATION, vec16(cmw_for(binder)))] if leaf_exts is None else leaf_exts
        entries = [(der, exts)] + list(chain)
        return build_authenticator(conn, conn.keys(labels_server), request, ctx, entries, key,
                                   scheme, **tamper)

    # Request shape as Python reads it.
    request, req = ask(conn)
    check(f"{tag} (b) C++ request is a CertificateRequest (13) with a 32-byte context",
          req["type"] == 13 and len(req["context"]) == 32)
    check(f"{tag} (b) request has empty cmw_attestation, atls_schemes and sigalgs",
          req["extensions"].get(CMW_ATTESTATION) == b"" and ATLS_SCHEMES in req["extensions"] and
          ECDSA_P256 in req["sigalgs"])
    conn.send(F_AUTHENTICATOR, std(request, req))
    rep = conn.report()
    check(f"{tag} (b) C++ validates a P-256 authenticator with cmw + binder",
          rep["ok"] and rep["binder_ok"] and rep["scheme"] == ECDSA_P256 and
          rep["context"] == req["context"].hex(), rep)

    if suite.endswith("SHA384"):
        p384 = ec.generate_private_key(ec.SECP384R1())
        p384_der, _ = make_cert(p384, "p384")
        rep = client_authenticates(conn, f"{tag} P-384 key", std, "Ok", key=p384, der=p384_der,
                                   scheme=ECDSA_P384)
        check(f"{tag} (b) P-384 scheme reported", rep.get("scheme") == ECDSA_P384, rep)
        conn.close()
        return

    server_refuses(conn)
    server_without_cmw(conn)

    ed = ed25519.Ed25519PrivateKey.generate()
    ed_der, _ = make_cert(ed, "ed25519")
    rep = client_authenticates(conn, "Ed25519 key", std, "Ok", key=ed, der=ed_der, scheme=ED25519)
    check("(b) Ed25519 scheme reported", rep.get("scheme") == ED25519, rep)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_der, _ = make_cert(rsa_key, "rsa")
    rep = client_authenticates(conn, "RSA key, rsa_pss_rsae_sha256", std, "Ok", key=rsa_key,
                               der=rsa_der, scheme=PSS_256)
    check("(b) RSA-PSS scheme reported", rep.get("scheme") == PSS_256, rep)

    ca = ec.generate_private_key(ec.SECP256R1())
    ca_der, ca_name = make_cert(ca, "python CA")
    leaf = ec.generate_private_key(ec.SECP256R1())
    leaf_der, _ = make_cert(leaf, "leaf", issuer=(ca, ca_name))
    rep = client_authenticates(conn, "two-certificate chain", std, "Ok", key=leaf, der=leaf_der,
                               chain=[(ca_der, [])])
    check("(b) chain length 2 reported", rep.get("chain") == 2, rep)

    client_authenticates(conn, "tampered Finished", std, "EaBadFinished", tamper_fin=True)
    client_authenticates(conn, "reflection (server labels)", std, "EaBadFinished",
                         labels_server=True)
    client_authenticates(conn, "tampered CertificateVerify", std, "EaBadCertificateVerify",
                         tamper_sig=True)
    client_authenticates(conn, "unrequested extension", std, "EaUnsupportedExtension",
                         leaf_exts=[(0x4242, b"")])
    client_authenticates(conn, "cmw_attestation on the intermediate", std,
                         "EaUnsupportedExtension", key=leaf, der=leaf_der,
                         chain=[(ca_der, [(CMW_ATTESTATION, vec16(b"x"))])])
    client_authenticates(conn, "malformed cmw_attestation data", std, "EaMalformed",
                         leaf_exts=[(CMW_ATTESTATION, b"\x00\x05ab")])
    client_authenticates(conn, "Certificate context differs", std, "EaUnknownContext",
                         context=b"\x00" * 32)
    p521 = ec.generate_private_key(ec.SECP521R1())
    p521_der, _ = make_cert(p521, "p521")
    client_authenticates(conn, "scheme not in the request (P-521)", std,
                         "EaSignatureSchemeUnsupported", key=p521, der=p521_der,
                         scheme=ECDSA_P521)
    client_authenticates(conn, "empty authenticator",
                         lambda request, req: empty_authenticator(conn, conn.keys(False), request,
                                                                  req["context"]),
                         "EaEmptyAuthenticator")
    old_request, old_req = ask(conn)
    client_authenticates(conn, "answer to an older request", lambda request, req: std(
        old_request, old_req), "EaBadFinished")
    client_authenticates(conn, "truncated authenticator", lambda request, req: std(request, req)[:-1],
                         "EaMalformed")
    rc = conn.close()
    check(f"{tag} peer exits cleanly", rc == 0, rc)


# OpenSSL 3.0's default client signature_algorithms (what pyOpenSSL's
# ClientHello offers) that this script can verify.
CLIENT_HELLO_SIGALGS = [ECDSA_P256, ECDSA_P384, ED25519, PSS_256, PSS_384]


def run_push_session(suite, tag, cmw_label=False):
    """(c): the server pushes a spontaneous authenticator in its first flight
    (docs/wire-profile.md §1.9); Python validates it with the server's context.
    With cmw_label, the binder's label is EXPORTER-cmw-attestation (expat -04)."""
    conn = Conn(suite, push=True, cmw_label=cmw_label)
    tag += " [EXPORTER-cmw-attestation]" if cmw_label else ""
    check(f"{tag} (c) preamble", conn.read_preamble() == PREAMBLE)
    t, auth = conn.recv_frame()
    check(f"{tag} (c) first frame is an AUTHENTICATOR", t == F_AUTHENTICATOR, t)
    rep = conn.report()
    check(f"{tag} (c) it went out as 0.5-RTT data", rep.get("early_data") is True, rep)
    try:
        v = validate_authenticator(conn, conn.keys(True), b"", auth, spontaneous={
            "sigalgs": CLIENT_HELLO_SIGALGS, "extensions": [CMW_ATTESTATION]})
    except (ValueError, InvalidSignature) as e:
        check(f"{tag} (c) Python validates the pushed authenticator", False, repr(e))
        conn.close()
        return
    check(f"{tag} (c) Python validates the pushed authenticator", not v["empty"])
    check(f"{tag} (c) the context is 32 server-chosen bytes", len(v["context"]) == 32)
    binder = conn.binder(v["spki"], v["context"])
    check(f"{tag} (c) binder over the pushed context", v["cmw"] == cmw_for(binder) and
          rep["binder"] == binder.hex(), (v["cmw"], rep))
    try:
        validate_authenticator(conn, conn.keys(False), b"", auth, spontaneous={
            "sigalgs": CLIENT_HELLO_SIGALGS, "extensions": [CMW_ATTESTATION]})
        check(f"{tag} (c) client labels do not validate it", False)
    except ValueError:
        check(f"{tag} (c) client labels do not validate it", True)
    rc = conn.close()
    check(f"{tag} (c) peer exits cleanly", rc == 0, rc)


def run_bad_request():
    conn = Conn("TLS_AES_128_GCM_SHA256")
    conn.read_preamble()
    bad = handshake(17, vec8(b"\x01" * 32) + vec16(extension(CMW_ATTESTATION, b"")))  # no sigalgs
    conn.send(F_AUTH_REQUEST, bad)
    t, body = conn.recv_frame()
    ok = t == F_ALERT and len(body) >= 3 and body[0] == 5
    reason = body[3:3 + int.from_bytes(body[1:3], "big")] if ok else b""
    check("malformed request -> ALERT decode_error (5)", ok, (t, body))
    check("alert reason is UTF-8 and names the error",
          ok and reason.decode("utf-8") == "EaRequestMalformed", reason)
    conn.close()


def main():
    signal.alarm(120)  # never hang the test run
    for suite, tag in (("TLS_AES_128_GCM_SHA256", "[sha256]"), ("TLS_AES_256_GCM_SHA384", "[sha384]")):
        try:
            run_main_session(suite, tag)
        except Exception as e:  # report, do not abort the other scenarios
            check(f"{tag} session ran to the end", False, repr(e))
        for cmw_label in (False, True):
            try:
                run_push_session(suite, tag, cmw_label)
            except Exception as e:
                check(f"{tag} push session ran to the end", False, repr(e))
    try:
        run_bad_request()
    except Exception as e:
        check("malformed request session", False, repr(e))
    passed = sum(1 for _, ok in RESULTS if ok)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
