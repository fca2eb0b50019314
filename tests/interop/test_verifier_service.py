#!/usr/bin/python3
"""End-to-end tests of `atls verifier` (docs/verifier-service.md).

Starts $ATLS_BUILD_DIR/tools/atls verifier on 127.0.0.1 (port 0), makes
software Evidence with `atls attest` for the session nonce, submits it, and
checks the EAR independently: signature with python3-jwt (PyJWT) and the
JWK from the well-known endpoint, claim names of both EAR profiles. Then
the refusals (forged, expired, other nonce, replay, 415, 413) by HTTP status
and problem `code`, /metrics, SIGHUP reloads, and two instances sharing a
session key behind a real HAProxy: a session opened through one backend is
completed through the other. Last, the --verifier options of atls attest,
verify, serve and connect, both models, and a Verifier that is down.

Nothing is skipped: a missing haproxy or python3-jwt is a failure. Prints
"N passed, M failed" and exits non-zero on any failure.
"""

import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from interop_util import free_port, run_unittest_main

SOURCE = os.environ.get("ATLS_SOURCE_DIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("ATLS_BUILD_DIR", os.path.join(SOURCE, "build"))
ATLS = os.path.join(BUILD, "tools", "atls")

MT_EAT = "application/eat+cwt"
MT_CMW = "application/cmw+cbor"
NEW_SESSION = "/challenge-response/v1/newSession"
WELL_KNOWN = "/.well-known/veraison/verification"
SESSION_TYPE = "application/vnd.veraison.challenge-response-session+json"
PROBLEM_TYPE = "application/problem+json"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pem_private(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def pem_public(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)



def wait_until(pred, timeout=10.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


def request(base, method, path, body=None, content_type=None):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if body is None and method == "POST":
        body = b""
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    out = Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    conn.close()
    return out


class Verifier:
    """One `atls verifier` process; stdout and stderr go to files."""

    def __init__(self, tmp, name, *args):
        self.out = os.path.join(tmp, name + ".out")
        self.err = os.path.join(tmp, name + ".err")
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.proc = subprocess.Popen([ATLS, "verifier", "--listen", "127.0.0.1:0", *args],
                                         stdout=o, stderr=e)
        wait_until(lambda: self._first_line() is not None or self.proc.poll() is not None,
                   what="the bound address")
        line = self._first_line()
        if line is None:
            raise AssertionError(f"atls verifier did not start: {self.stderr()}")
        self.url = line
        self.port = urllib.parse.urlsplit(line).port

    def _first_line(self):
        with open(self.out) as f:
            text = f.read()
        return text.split("\n")[0] if "\n" in text else None

    def stderr(self):
        with open(self.err) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class ServiceTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="atls_verifier_")
        cls.machine_id = cls.write("machine-id", "0a1b2c3d4e5f60718293a4b5c6d7e8f9\n")
        cls.app = cls.write("app.bin", "v1")
        attester = ec.generate_private_key(ec.SECP256R1())
        cls.attester_key = cls.write("attester.pem", pem_private(attester))
        cls.write("attester_pub.pem", pem_public(attester))
        cls.write("other_pub.pem", pem_public(ec.generate_private_key(ec.SECP256R1())))
        cls.policy = cls.write_policy("policy.json", "attester_pub.pem")
        cls.ear_key = cls.write("ear.pem", pem_private(ec.generate_private_key(ec.SECP256R1())))
        cls.session_key = cls.write("session.key", os.urandom(32).hex() + "\n")
        cls.verifiers = []

    @classmethod
    def tearDownClass(cls):
        for v in cls.verifiers:
            v.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def write(cls, name, content):
        p = os.path.join(cls.tmp, name)
        with open(p, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
        return p

    @classmethod
    def write_policy(cls, name, trusted):
        doc = {"required_tier": "warning", "schemes": {MT_EAT: {"trust": {"keys": [trusted]}}}}
        return cls.write(name, json.dumps(doc))

    def start(self, *extra, session_key=True, policy=None):
        args = ["--policy", policy or self.policy, "--ear-key", self.ear_key, *extra]
        if session_key:
            args += ["--session-key", self.session_key]
        v = Verifier(self.tmp, f"v{len(self.verifiers)}", *args)
        self.verifiers.append(v)
        return v

    def attest(self, nonce, name="ev.cbor"):
        out = os.path.join(self.tmp, name)
        r = subprocess.run([ATLS, "attest", "--attester", "software", "--key", self.attester_key,
                            "--nonce", nonce.hex(), "--out", out, "--machine-id-file",
                            self.machine_id, "--measure", self.app],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as f:
            return f.read()

    def open_session(self, v, query=""):
        r = request(v.url, "POST", NEW_SESSION + query)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.headers["content-type"], SESSION_TYPE)
        j = r.json()
        self.assertEqual(j["status"], "waiting")
        self.assertIn(MT_EAT, j["accept"])
        return r.headers["location"], base64.b64decode(j["nonce"])

    def assertProblem(self, r, status, code):
        self.assertEqual(r.status, status, r.body)
        self.assertEqual(r.headers["content-type"], PROBLEM_TYPE)
        j = r.json()
        self.assertEqual(j["code"], code, r.body)
        self.assertEqual(j["status"], status)
        self.assertTrue(j["type"].endswith("#" + code))

    def verified_claims(self, v, reply):
        """Checks the EAR with PyJWT and the well-known JWK; returns (header, claims)."""
        self.assertEqual(reply.status, 200, reply.body)
        body = reply.json()
        self.assertEqual(body["status"], "complete")
        token = body["result"]
        wk = request(v.url, "GET", WELL_KNOWN)
        self.assertEqual(wk.status, 200)
        jwk = wk.json()["ear-verification-key"]
        self.assertNotIn("d", jwk)
        key = jwt.PyJWK(jwk)
        claims = jwt.decode(token, key.key, algorithms=["ES256"])
        header = jwt.get_unverified_header(token)
        self.assertEqual(header["alg"], "ES256")
        self.assertEqual(header["kid"], jwk["kid"])
        # A token altered after signing does not verify.
        with self.assertRaises(jwt.InvalidSignatureError):
            parts = token.split(".")
            forged = dict(claims, iat=claims["iat"] + 1)
            payload = b64url(json.dumps(forged).encode())
            jwt.decode(".".join([parts[0], payload, parts[2]]), key.key, algorithms=["ES256"])
        return header, claims


class TestService(ServiceTestCase):
    def test_ear_ietf_profile(self):
        v = self.start()
        loc, nonce = self.open_session(v, "?nonceSize=16")
        self.assertEqual(len(nonce), 16)
        cmw = self.attest(nonce)
        _, claims = self.verified_claims(v, request(v.url, "POST", loc, cmw, MT_CMW))
        self.assertEqual(claims["eat_profile"], "tag:ietf.org,2026:rats/ear#03")
        self.assertEqual(claims["eat_nonce"], b64url(nonce))
        for name in ("ear_status", "ear_verifier_id", "iat", "exp", "submods"):
            self.assertIn(name, claims)
        self.assertEqual(claims["ear_verifier_id"]["developer"], "atls")
        sub = claims["submods"]["software"]
        self.assertIn("ear_status", sub)
        self.assertIn("ear_trustworthiness_vector", sub)
        self.assertEqual(sub["atls.media-type"], MT_EAT)
        self.assertLessEqual(claims["exp"] - claims["iat"], 300)

    def test_ear_veraison_profile(self):
        v = self.start("--ear-profile", "veraison")
        loc, nonce = self.open_session(v)
        _, claims = self.verified_claims(v, request(v.url, "POST", loc, self.attest(nonce), MT_CMW))
        self.assertEqual(claims["eat_profile"], "tag:github.com,2023:veraison/ear")
        self.assertIn("ear.status", claims)
        self.assertIn("ear.verifier-id", claims)
        self.assertNotIn("ear_status", claims)
        sub = claims["submods"]["software"]
        self.assertIn("ear.status", sub)
        self.assertIn("ear.trustworthiness-vector", sub)

    def test_refusals(self):
        v = self.start()
        loc, nonce = self.open_session(v)
        cmw = self.attest(nonce)
        # Forged: the id altered, or made up.
        forged = loc[:-3] + ("AAA" if not loc.endswith("AAA") else "BBB")
        self.assertProblem(request(v.url, "POST", forged, cmw, MT_CMW), 404,
                           "VerifierSessionInvalid")
        self.assertProblem(request(v.url, "GET", "/challenge-response/v1/session/x"), 404,
                           "VerifierSessionInvalid")
        # Evidence for another nonce.
        other = self.attest(os.urandom(32), "other.cbor")
        self.assertProblem(request(v.url, "POST", loc, other, MT_CMW), 422, "NonceMismatch")
        # An unknown media type.
        self.assertProblem(request(v.url, "POST", loc, cmw, "application/x-bogus"), 415,
                           "UnsupportedMediaType")
        # The genuine completion, then the same Evidence replayed into another session.
        self.assertEqual(request(v.url, "POST", loc, cmw, MT_CMW).status, 200)
        loc2, _ = self.open_session(v)
        self.assertProblem(request(v.url, "POST", loc2, cmw, MT_CMW), 422, "NonceMismatch")
        # Bad newSession parameters.
        self.assertProblem(request(v.url, "POST", NEW_SESSION + "?nonceSize=4"), 400,
                           "InvalidArgument")
        self.assertEqual(request(v.url, "GET", loc).status, 200)
        self.assertEqual(request(v.url, "DELETE", loc).status, 204)

    def test_oversize_body(self):
        v = self.start("--max-body", "1024")
        loc, _ = self.open_session(v)
        self.assertProblem(request(v.url, "POST", loc, b"\0" * 4096, MT_CMW), 413,
                           "PayloadTooLarge")

    def test_expired_session(self):
        v = self.start("--session-ttl", "1")
        loc, nonce = self.open_session(v)
        cmw = self.attest(nonce)
        time.sleep(2.2)
        self.assertProblem(request(v.url, "POST", loc, cmw, MT_CMW), 410,
                           "VerifierSessionExpired")

    def test_metrics(self):
        v = self.start()
        loc, nonce = self.open_session(v)
        self.assertEqual(request(v.url, "POST", loc, self.attest(nonce), MT_CMW).status, 200)
        request(v.url, "POST", loc, b"x", "application/x-bogus")
        r = request(v.url, "GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/plain"))
        samples = {}
        line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
        for line in r.body.decode().splitlines():
            if line.startswith("#") or not line:
                continue
            m = line_re.match(line)
            self.assertIsNotNone(m, f"not a Prometheus sample: {line!r}")
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        self.assertEqual(
            samples['atls_verifier_requests_total{route="newSession",status="201"}'], 1)
        self.assertEqual(samples['atls_verifier_requests_total{route="session",status="200"}'], 1)
        self.assertEqual(samples['atls_verifier_verifications_total'
                                 '{media_type="application/cmw+cbor",outcome="warning"}'], 1)
        self.assertEqual(samples['atls_verifier_verifications_total'
                                 '{media_type="other",outcome="UnsupportedMediaType"}'], 1)
        self.assertEqual(samples["atls_verifier_verification_seconds_count"], 2)
        self.assertEqual(samples['atls_verifier_verification_seconds_bucket{le="+Inf"}'], 2)

    def test_sighup_reload(self):
        policy = self.write("reload.json", open(self.policy).read())
        v = self.start(policy=policy)
        loc, nonce = self.open_session(v)
        cmw = self.attest(nonce)
        # A bad policy is refused; the old one keeps serving.
        self.write("reload.json", '{"schemes": 42}')
        v.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload refused" in v.stderr(), what="the refused reload")
        self.assertIn("PolicyInvalid", v.stderr())
        self.assertEqual(request(v.url, "POST", loc, cmw, MT_CMW).status, 200)
        # A good policy that trusts another attester key takes over; the
        # session opened before the reload is still valid.
        self.write_policy("reload.json", "other_pub.pem")
        v.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reloaded" in v.stderr(), what="the reload")
        self.assertProblem(request(v.url, "POST", loc, cmw, MT_CMW), 422, "KeyUntrusted")
        self.assertEqual(v.stop(), 0)
        self.assertIn("stopped", v.stderr())

    def test_plain_http_only_on_loopback(self):
        r = subprocess.run([ATLS, "verifier", "--listen", "0.0.0.0:0", "--policy", self.policy,
                            "--ear-key", self.ear_key], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"InvalidArgument", r.stderr)
        self.assertIn(b"--insecure-http", r.stderr)


HAPROXY_CFG = """
global
    maxconn 64
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend verifier
    bind 127.0.0.1:{front}
    # Sessions are opened on instance A and completed on instance B, to show
    # that nothing is kept between the two (docs/verifier-service.md).
    use_backend open_on_a if {{ path_beg /challenge-response/v1/newSession }}
    default_backend complete_on_b
backend open_on_a
    server a 127.0.0.1:{a}
backend complete_on_b
    server b 127.0.0.1:{b}
"""


class TestCommandLine(ServiceTestCase):
    """The --verifier options of atls attest, verify, serve and connect."""

    def test_attest_and_verify_through_the_service(self):
        v = self.start()
        ear_file = os.path.join(self.tmp, "cli.jwt")
        r = subprocess.run([ATLS, "attest", "--attester", "software", "--key", self.attester_key,
                            "--machine-id-file", self.machine_id, "--measure", self.app,
                            "--verifier", v.url, "--out", ear_file],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        token = open(ear_file).read().strip()
        jwk = request(v.url, "GET", WELL_KNOWN).json()["ear-verification-key"]
        claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["ES256"])
        self.assertEqual(claims["ear_status"], "warning")
        # atls verify checks that EAR with the key of the well-known endpoint.
        r = subprocess.run([ATLS, "verify", "--verifier", v.url, "--json", ear_file],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(json.loads(r.stdout)["verified"])
        # Evidence for one nonce, sent for another: the Verifier's code.
        nonce = os.urandom(32)
        self.attest(nonce, "cli.cbor")
        ev = os.path.join(self.tmp, "cli.cbor")
        r = subprocess.run([ATLS, "verify", "--verifier", v.url, "--nonce", os.urandom(32).hex(),
                            ev], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"NonceMismatch", r.stderr)
        r = subprocess.run([ATLS, "verify", "--verifier", v.url, "--nonce", nonce.hex(), ev],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def serve(self, *extra):
        port = free_port()
        srv = subprocess.Popen([ATLS, "serve", "--listen", f"127.0.0.1:{port}", "--attester",
                                "software", "--attester-key", self.attester_key,
                                "--measure", self.app, *extra],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: _can_connect(port), what="atls serve")
        return srv, port

    def connect(self, port, *extra):
        rp = self.write("rp.json", '{"required_tier": "warning"}')
        return subprocess.run([ATLS, "connect", f"127.0.0.1:{port}", "--attestation-only-identity",
                               "--policy", rp, "--linger-ms", "300", *extra],
                              input=b"through the Verifier\n", stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)

    def test_serve_and_connect_through_the_service(self):
        v = self.start()
        for passport in (False, True):
            extra = ["--passport", "--verifier", v.url] if passport else []
            srv, port = self.serve(*extra)
            try:
                r = self.connect(port, "--verifier", v.url)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, b"through the Verifier\n")
                self.assertIn(b"application/eat+jwt", r.stderr)
            finally:
                srv.kill()
                srv.wait()

    def test_connect_fails_closed_when_the_verifier_is_down(self):
        down = f"http://127.0.0.1:{free_port()}"
        srv, port = self.serve()
        try:
            r = self.connect(port, "--verifier", down)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"VerifierUnavailable", r.stderr)
            self.assertEqual(r.stdout, b"")
        finally:
            srv.kill()
            srv.wait()


def _can_connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class TestHaproxy(ServiceTestCase):
    def test_session_opened_on_one_instance_completes_on_the_other(self):
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self.assertTrue(os.path.exists(haproxy), "haproxy is not installed")
        a = self.start()
        b = self.start()
        lone = self.start(session_key=False)
        front = free_port()
        cfg = self.write("haproxy.cfg", HAPROXY_CFG.format(front=front, a=a.port, b=b.port))
        check = subprocess.run([haproxy, "-c", "-f", cfg], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout)
        with open(os.path.join(self.tmp, "haproxy.log"), "wb") as log:
            hp = subprocess.Popen([haproxy, "-db", "-f", cfg], stdout=log, stderr=log)
        try:
            def listening():
                try:
                    socket.create_connection(("127.0.0.1", front), timeout=1).close()
                    return True
                except OSError:
                    return False
            wait_until(listening, what="haproxy")
            url = f"http://127.0.0.1:{front}"
            r = request(url, "POST", NEW_SESSION)
            self.assertEqual(r.status, 201, r.body)
            loc, nonce = r.headers["location"], base64.b64decode(r.json()["nonce"])
            cmw = self.attest(nonce)
            done = request(url, "POST", loc, cmw, MT_CMW)
            _, claims = self.verified_claims(b, done)
            self.assertEqual(claims["eat_nonce"], b64url(nonce))
            # A opened it and B completed it.
            ma = request(a.url, "GET", "/metrics").body.decode()
            mb = request(b.url, "GET", "/metrics").body.decode()
            self.assertIn('route="newSession",status="201"} 1', ma)
            self.assertNotIn('route="session"', ma)
            self.assertIn('route="session",status="200"} 1', mb)
            self.assertNotIn('route="newSession"', mb)
            # Completing it again elsewhere yields the same claims, never a
            # fresher EAR.
            again = request(a.url, "POST", loc, cmw, MT_CMW)
            _, claims_again = self.verified_claims(a, again)
            self.assertEqual(claims, claims_again)
            # An instance with its own session key cannot finish it.
            self.assertProblem(request(lone.url, "POST", loc, cmw, MT_CMW), 404,
                               "VerifierSessionInvalid")
        finally:
            hp.terminate()
            try:
                hp.wait(timeout=10)
            except subprocess.TimeoutExpired:
                hp.kill()
                hp.wait()



if __name__ == "__main__":
    sys.exit(run_unittest_main(__name__, ATLS))
