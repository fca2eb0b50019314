#!/usr/bin/python3
"""End-to-end tests of the `atls attest` and `atls verify` commands.

Drives the built binary ($ATLS_BUILD_DIR/tools/atls) over the vectors in
$ATLS_SOURCE_DIR/tests/data:

  - software evidence made by `atls attest`, checked here with Python
    `cryptography` + `cbor2`, then verified with the printed key pinned;
  - the SEV-SNP, TDX and GCE vTPM vectors and the tpm2-tools quotes, at the
    verification times their MANIFEST gives, valid and tampered;
  - `atls attest --attester tpm2` against a private swtpm started here on a
    free loopback port pair (stopped in a finally block), with the AK read
    back independently with tpm2-tools;
  - truncated and oversize inputs, bad policies, exit codes and --json.

Nothing is skipped: a missing tool (swtpm, tpm2-tools) is a failure. Prints
"N passed, M failed" and exits non-zero on any failure.
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography import x509

from interop_util import Swtpm, free_port_pair, run_unittest_main

SOURCE = os.environ.get("ATLS_SOURCE_DIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("ATLS_BUILD_DIR", os.path.join(SOURCE, "build"))
ATLS = os.path.join(BUILD, "tools", "atls")
DATA = os.path.join(SOURCE, "tests", "data")

MT_SNP = "application/vnd.atls.sev-snp-report"
MT_TDX = "application/vnd.atls.tdx-quote"
MT_EAR = "application/eat+jwt"
MT_TPM = "application/vnd.atls.tpm2-quote+cbor"
MT_EAT = "application/eat+cwt"

# Exit codes documented in `atls verify --help` / `atls attest --help`.
EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


def data(*parts):
    return os.path.join(DATA, *parts)


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr.decode("utf-8", "replace")

    @property
    def text(self):
        return self.out.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.out)


def atls(*args, stdin=None, env=None):
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run([ATLS, *args], input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120, env=full_env)
    return Run(proc)


class CliTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="atls_cli_")
        # The software attester's machine id, independent of the host's.
        self.machine_id = self.write("machine-id", "5f3c9a0e7d2b4c1a8e6f0d9b3a2c1e4f\n")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, content):
        p = self.path(name)
        with open(p, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
        return p

    def assertOk(self, r, what=""):
        self.assertEqual(r.rc, EXIT_OK, f"{what}: rc={r.rc} stderr={r.err}")

    def assertFails(self, r, error_name, rc=EXIT_REJECTED):
        """The command failed cleanly (no signal) with |rc| and named |error_name|."""
        self.assertGreaterEqual(r.rc, 0, f"killed by signal {-r.rc}: {r.err}")
        self.assertEqual(r.rc, rc, f"expected rc {rc} with {error_name}, got {r.rc}: {r.err}")
        self.assertIn(error_name, r.err)
        lines = [l for l in r.err.splitlines() if l.startswith("atls ")]
        self.assertEqual(len(lines), 1, f"expected one error line: {r.err!r}")


# ---------------------------------------------------------------------------
# software attester


def cose_sign1_verify(token: bytes, pub_pem: bytes) -> dict:
    """Verifies an ES256 COSE_Sign1 (tag 61/18 optional) independently of
    atls and returns the decoded claims set."""
    obj = cbor2.loads(token)
    while isinstance(obj, cbor2.CBORTag):
        obj = obj.value
    protected, _unprotected, payload, signature = obj
    hdr = cbor2.loads(protected)
    assert hdr[1] == -7, f"alg {hdr[1]} is not ES256"
    tbs = cbor2.dumps(["Signature1", protected, b"", payload])
    key = serialization.load_pem_public_key(pub_pem)
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    key.verify(utils.encode_dss_signature(r, s), tbs, ec.ECDSA(hashes.SHA256()))
    return cbor2.loads(payload)


def cmw_record(cmw: bytes):
    """Decodes a CBOR CMW record [type, value, ind?] (RFC-draft msg-wrap)."""
    rec = cbor2.loads(cmw)
    assert isinstance(rec, list) and len(rec) in (2, 3), rec
    return rec


class SoftwareTest(CliTestCase):
    NONCE = "00112233445566778899aabbccddeeff"

    def attest(self, *extra):
        ev = self.path("ev.cbor")
        r = atls("attest", "--attester", "software", "--nonce", self.NONCE, "--out", ev,
                 "--machine-id-file", self.machine_id, *extra)
        self.assertOk(r, "attest")
        return ev, r

    def test_attest_verify_pinned_key_from_stderr(self):
        ev, r = self.attest()
        begin = r.err.index("-----BEGIN PUBLIC KEY-----")
        end = r.err.index("-----END PUBLIC KEY-----") + len("-----END PUBLIC KEY-----")
        key = self.write("pub.pem", r.err[begin:end] + "\n")
        v = atls("verify", ev, "--trust", key, "--nonce", self.NONCE)
        self.assertOk(v, "verify")
        self.assertIn("integrity:   OK", v.text)
        self.assertIn("machine id:  ueid:01", v.text)
        self.assertIn("submodule software: warning", v.text)

    def test_independent_cose_check(self):
        ev, _ = self.attest("--pubkey-out", self.path("pub.pem"))
        with open(ev, "rb") as f:
            media_type, token, *ind = cmw_record(f.read())
        self.assertEqual(media_type, MT_EAT)
        self.assertEqual(ind, [4])
        with open(self.path("pub.pem"), "rb") as f:
            claims = cose_sign1_verify(token, f.read())
        self.assertEqual(claims[10], bytes.fromhex(self.NONCE))  # eat_nonce
        with open(self.machine_id, "rb") as f:
            self.assertEqual(claims[256], b"\x01" + hashlib.sha256(f.read()).digest())  # ueid

    def test_wrong_nonce(self):
        ev, _ = self.attest("--pubkey-out", self.path("pub.pem"))
        v = atls("verify", ev, "--trust", self.path("pub.pem"), "--nonce", "ff" * 16)
        self.assertFails(v, "NonceMismatch")
        j = atls("verify", ev, "--trust", self.path("pub.pem"), "--nonce", "ff" * 16, "--json")
        self.assertEqual(j.rc, EXIT_REJECTED)
        doc = j.json()
        self.assertEqual(doc["error"], "NonceMismatch")
        self.assertFalse(doc["verified"])

    def test_given_key_measurements_and_json(self):
        key = ec.generate_private_key(ec.SECP256R1())
        key_pem = self.write("key.pem", key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        pub_pem = self.write("pub.pem", key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        measured = self.write("app.bin", b"hello atls\n")
        ev, r = self.attest("--key", key_pem, "--measure", measured)
        self.assertNotIn("BEGIN PUBLIC KEY", r.err)  # the caller holds the key
        v = atls("verify", ev, "--trust", pub_pem, "--nonce", self.NONCE, "--json")
        self.assertOk(v)
        doc = v.json()
        self.assertTrue(doc["verified"])
        self.assertTrue(doc["nonce_verified"])
        self.assertEqual(doc["media_type"], MT_EAT)
        self.assertEqual(doc["claims"]["measured"][measured],
                         hashlib.sha256(b"hello atls\n").hexdigest())
        self.assertIn("software", doc["submods"])
        self.assertIn("trust_vector", doc["submods"]["software"])

    def test_other_key_is_untrusted(self):
        ev, _ = self.attest()
        other = ec.generate_private_key(ec.SECP256R1()).public_key()
        pub = self.write("other.pem", other.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        self.assertFails(atls("verify", ev, "--trust", pub), "KeyUntrusted")
        self.assertFails(atls("verify", ev), "KeyUntrusted")

    def policy(self, tier, pub, measured=None, extra=None):
        scheme = {"trust": {"keys": [pub]}}
        if measured is not None:
            scheme["reference"] = {"measurements": measured}
        doc = {"required_tier": tier, "schemes": {MT_EAT: scheme}}
        doc.update(extra or {})
        return self.write("policy.json", json.dumps(doc))

    def test_policy_tiers(self):
        app = self.write("app.bin", b"v1")
        ev, _ = self.attest("--pubkey-out", self.path("pub.pem"), "--measure", app)
        digest = hashlib.sha256(b"v1").hexdigest()
        # Software evidence reaches "warning" at best.
        ok = atls("verify", ev, "--policy", self.policy("warning", self.path("pub.pem"),
                                                         {app: digest}), "--nonce", self.NONCE)
        self.assertOk(ok, "warning tier")
        self.assertIn("ACCEPTED", ok.text)
        low = atls("verify", ev, "--policy", self.policy("affirming", self.path("pub.pem")),
                   "--nonce", self.NONCE)
        self.assertFails(low, "TierInsufficient")
        bad = atls("verify", ev, "--policy", self.policy("warning", self.path("pub.pem"),
                                                          {app: "00" * 32}), "--nonce", self.NONCE)
        self.assertFails(bad, "MeasurementMismatch")
        # --json still reports the verdict of the policy.
        j = atls("verify", ev, "--json", "--policy", self.policy("affirming", self.path("pub.pem")))
        self.assertEqual(j.rc, EXIT_REJECTED)
        self.assertFalse(j.json()["accepted"])
        self.assertEqual(j.json()["error"], "TierInsufficient")
        # Pinned machine ids.
        pin = atls("verify", ev, "--policy", self.policy("warning", self.path("pub.pem"), None,
                                                          {"machine_ids": ["ueid:00"]}))
        self.assertFails(pin, "MachineIdMismatch")

    def test_stale_evidence(self):
        ev, _ = self.attest("--pubkey-out", self.path("pub.pem"))
        later = str(int(time.time()) + 3600)
        r = atls("verify", ev, "--policy", self.policy("warning", self.path("pub.pem")),
                 "--at", later)
        self.assertFails(r, "EvidenceStale")

    def test_ear_out(self):
        ev, _ = self.attest("--pubkey-out", self.path("pub.pem"))
        ear_key = ec.generate_private_key(ec.SECP256R1())
        self.write("ear.pem", ear_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        pol = self.policy("warning", "pub.pem", None, {"ear": {"signing_key": "ear.pem"}})
        r = atls("verify", ev, "--policy", pol, "--nonce", self.NONCE,
                 "--ear-out", self.path("ear.jwt"))
        self.assertOk(r)
        with open(self.path("ear.jwt")) as f:
            jwt = f.read().strip()
        header, payload, sig = jwt.split(".")

        def b64(s):
            return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

        self.assertEqual(json.loads(b64(header))["alg"], "ES256")
        raw = b64(sig)
        ear_key.public_key().verify(
            utils.encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                       int.from_bytes(raw[32:], "big")),
            (header + "." + payload).encode(), ec.ECDSA(hashes.SHA256()))
        claims = json.loads(b64(payload))
        self.assertEqual(claims["eat_nonce"],
                         base64.urlsafe_b64encode(bytes.fromhex(self.NONCE)).decode().rstrip("="))
        self.assertIn("software", claims["submods"])

        # The EAR verifies back as a passport, with the Verifier's key pinned.
        ear_pub = self.write("ear_pub.pem", ear_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        ear = self.path("ear.jwt")
        back = atls("verify", ear, "--trust", ear_pub, "--nonce", self.NONCE, "--json",
                    "--at", str(claims["iat"]))
        self.assertOk(back, "EAR")
        self.assertEqual(back.json()["media_type"], MT_EAR)
        sub = claims["submods"]["software"]
        self.assertEqual(back.json()["submods"]["software"]["status"],
                         sub.get("ear_status", sub.get("ear.status")))
        self.assertOk(atls("verify", ear, "--media-type", MT_EAR, "--trust", ear_pub,
                           "--at", str(claims["iat"])), "EAR with --media-type")
        self.assertFails(atls("verify", ear, "--trust", ear_pub, "--nonce", "ee" * 16,
                              "--at", str(claims["iat"])), "NonceMismatch")
        self.assertFails(atls("verify", ear, "--trust", self.path("pub.pem"),
                              "--at", str(claims["iat"])), "KeyUntrusted")
        # This EAR names no attested key, so a required key binding fails.
        self.assertFails(atls("verify", ear, "--trust", ear_pub, "--attested-key", ear_pub,
                              "--at", str(claims["iat"])), "EarKeyBindingMismatch")
        late = atls("verify", ear, "--trust", ear_pub, "--at", str(claims["exp"] + 1))
        self.assertEqual(late.rc, EXIT_REJECTED, late.err)
        self.assertTrue("EarExpired" in late.err or "EvidenceStale" in late.err, late.err)
        # --ear-out without a signing key is a usage error, before any work.
        r = atls("verify", ev, "--trust", self.path("pub.pem"), "--ear-out", self.path("x.jwt"))
        self.assertFails(r, "InvalidArgument", EXIT_USAGE)
        self.assertFalse(os.path.exists(self.path("x.jwt")))


# ---------------------------------------------------------------------------
# attest argument errors


class AttestErrorsTest(CliTestCase):
    def test_bad_hex_nonce(self):
        r = atls("attest", "--attester", "software", "--nonce", "0g", "--out", self.path("x"))
        self.assertFails(r, "InvalidHex", EXIT_USAGE)

    def test_odd_hex_nonce(self):
        r = atls("attest", "--attester", "software", "--nonce", "001", "--out", self.path("x"))
        self.assertFails(r, "InvalidHex", EXIT_USAGE)

    def test_nonce_too_long(self):
        for attester in ("software", "sev-snp", "tdx"):
            r = atls("attest", "--attester", attester, "--nonce", "00" * 65, "--out", self.path("x"))
            self.assertFails(r, "InvalidArgument", EXIT_USAGE)
            self.assertIn("too long", r.err)
        r = atls("attest", "--attester", "tpm2", "--nonce", "00" * 1025, "--out", self.path("x"))
        self.assertFails(r, "InvalidArgument", EXIT_USAGE)

    def test_nonce_too_short_for_eat(self):
        r = atls("attest", "--attester", "software", "--nonce", "0011", "--out", self.path("x"))
        self.assertFails(r, "InvalidArgument", EXIT_USAGE)

    def test_missing_devices(self):
        r = atls("attest", "--attester", "tpm2", "--tcti", "device:" + self.path("no-tpm"),
                 "--nonce", "0011223344556677", "--out", self.path("x"))
        self.assertFails(r, "FileNotFound")
        for attester in ("sev-snp", "tdx"):
            r = atls("attest", "--attester", attester, "--tsm-path", self.path("no-tsm"),
                     "--nonce", "0011223344556677", "--out", self.path("x"))
            self.assertFails(r, "FileNotFound")
            self.assertIn("configfs-tsm", r.err)
        r = atls("attest", "--attester", "software", "--machine-id-file", self.path("none"),
                 "--nonce", "0011223344556677", "--out", self.path("x"))
        self.assertFails(r, "FileNotFound")
        self.assertFalse(os.path.exists(self.path("x")))

    def test_unreachable_swtpm(self):
        port = free_port_pair()
        r = atls("attest", "--attester", "tpm2", "--tcti", f"swtpm:host=127.0.0.1,port={port}",
                 "--nonce", "0011223344556677", "--out", self.path("x"))
        self.assertFails(r, "TpmUnavailable")

    def test_option_of_another_attester(self):
        r = atls("attest", "--attester", "software", "--tcti", "device:/dev/null", "--nonce",
                 "0011223344556677", "--out", self.path("x"))
        self.assertFails(r, "InvalidArgument", EXIT_USAGE)
        r = atls("attest", "--attester", "tpm2", "--vmpl", "1", "--nonce", "0011223344556677",
                 "--out", self.path("x"))
        self.assertFails(r, "InvalidArgument", EXIT_USAGE)

    def test_bad_pcr_list_and_handle(self):
        for extra in (["--pcrs", "0,x"], ["--pcrs", ""], ["--ak-handle", "zz"]):
            r = atls("attest", "--attester", "tpm2", "--tcti", "swtpm:host=127.0.0.1,port=1",
                     "--nonce", "0011223344556677", "--out", self.path("x"), *extra)
            self.assertFails(r, "InvalidArgument", EXIT_USAGE)

    def test_unknown_or_missing_attester_or_nonce(self):
        for args in (["--attester", "sgx", "--nonce", "0011223344556677"],
                     ["--nonce", "0011223344556677"], ["--attester", "software"],
                     ["--attester", "sev-snp", "--vmpl", "4", "--nonce", "00"]):
            with self.subTest(args=args):
                r = atls("attest", "--out", self.path("x"), *args)
                self.assertFails(r, "InvalidArgument", EXIT_USAGE)

    def test_terminal_refused(self):
        import pty
        master, slave = pty.openpty()
        try:
            proc = subprocess.run([ATLS, "attest", "--attester", "software", "--nonce", "00" * 8,
                                   "--machine-id-file", self.machine_id],
                                  stdout=slave, stderr=subprocess.PIPE, timeout=60)
        finally:
            os.close(slave)
            os.close(master)
        self.assertEqual(proc.returncode, EXIT_USAGE, proc.stderr)
        self.assertIn(b"standard output is a terminal", proc.stderr)

    def test_stdout_default(self):
        # Standard output is a pipe here, so the CMW goes there.
        r = atls("attest", "--attester", "software", "--nonce", "00" * 8, "--machine-id-file",
                 self.machine_id)
        self.assertOk(r)
        media_type, _, ind = cmw_record(r.out)
        self.assertEqual((media_type, ind), (MT_EAT, 4))


# ---------------------------------------------------------------------------
# SEV-SNP vectors (tests/data/snp; times from the vectors' MANIFEST)

GSG_NONCE = "0102030405" + "00" * 59


def snp(*args):
    return atls("verify", "--media-type", MT_SNP, "--trust", data("snp", "ask_ark_milan.pem"), *args)


class SevSnpTest(CliTestCase):
    def test_gosevguest_valid(self):
        r = snp(data("snp", "gosevguest_attestation.bin"), "--cert", data("snp", "gosevguest_vcek.der"),
                "--at", "2022-09-24T12:00:00Z", "--nonce", GSG_NONCE, "--json")
        self.assertOk(r)
        doc = r.json()
        c = doc["claims"]
        self.assertEqual(c["measurement"], "b07af9620f3b839b47996422ddec6058338951d984e312115131"
                                           "ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01")
        self.assertEqual(c["reported_tcb"]["raw"], 4901323769462652930)
        self.assertEqual(c["version"], 2)
        self.assertTrue(doc["machine_id"].startswith("snp-chip-id:3ac3fe21e13fb099"))
        self.assertTrue(doc["hardware_rooted"])
        self.assertTrue(doc["nonce_verified"])

    def test_gosevguest_wrong_nonce(self):
        r = snp(data("snp", "gosevguest_attestation.bin"), "--cert", data("snp", "gosevguest_vcek.der"),
                "--at", "2022-09-24T12:00:00Z", "--nonce", "0102030405" + "00" * 58 + "01")
        self.assertFails(r, "NonceMismatch")

    def test_gosevguest_debug_policy(self):
        # The guest POLICY allows debugging: a policy that requires affirming
        # rejects it with DebugEnabled, one that allows debug accepts it.
        base = {"required_tier": "warning",
                "schemes": {MT_SNP: {"trust": {"ask_ark": data("snp", "ask_ark_milan.pem")},
                                     "reference": {"dangerous_any_measurement": True}}}}
        strict = self.write("strict.json", json.dumps(base))
        args = [data("snp", "gosevguest_attestation.bin"), "--media-type", MT_SNP,
                "--cert", data("snp", "gosevguest_vcek.der"), "--at", "2022-09-24T12:00:00Z"]
        self.assertFails(atls("verify", "--policy", strict, *args), "DebugEnabled")
        base["schemes"][MT_SNP]["reference"]["allow_debug"] = True
        loose = self.write("loose.json", json.dumps(base))
        self.assertOk(atls("verify", "--policy", loose, *args))

    def test_virtee_hex_valid(self):
        r = snp(data("snp", "virtee_report_milan.hex"), "--cert", data("snp", "virtee_vcek_milan.der"),
                "--at", "2024-01-01", "--json")
        self.assertOk(r)
        c = r.json()["claims"]
        self.assertEqual(c["report_data"], "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71"
                                           "d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3"
                                           "d1cd82bd6a93ebfd")
        self.assertEqual(c["reported_tcb"]["raw_hex"], "0x7308000000000003")

    def test_virtee_binary_from_hex(self):
        with open(data("snp", "virtee_report_milan.hex")) as f:
            raw = bytes.fromhex(f.read().strip())
        self.assertEqual(len(raw), 1184)
        rep = self.write("report.bin", raw)
        self.assertOk(snp(rep, "--cert", data("snp", "virtee_vcek_milan.der"), "--at", "2024-01-01"))

    def test_tampered_report(self):
        r = snp(data("snp", "bad_virtee_report_milan_byte21_flipped.bin"),
                "--cert", data("snp", "virtee_vcek_milan.der"), "--at", "2024-01-01")
        self.assertFails(r, "SnpBadSignature")

    def test_tampered_vcek(self):
        r = snp(data("snp", "virtee_report_milan.hex"),
                "--cert", data("snp", "bad_virtee_vcek_milan_byte40_flipped.der"), "--at", "2024-01-01")
        self.assertFails(r, "CertChainInvalid")

    def test_other_chips_vcek(self):
        r = snp(data("snp", "gosevguest_attestation.bin"), "--cert", data("snp", "virtee_vcek_milan.der"),
                "--at", "2024-01-01")
        self.assertFails(r, "SnpVcekMismatch")

    def test_expired(self):
        r = snp(data("snp", "gosevguest_attestation.bin"), "--cert", data("snp", "gosevguest_vcek.der"),
                "--at", "2050-01-01")
        self.assertFails(r, "CertExpired")

    def test_wrong_root(self):
        r = atls("verify", data("snp", "virtee_report_milan.hex"), "--media-type", MT_SNP,
                 "--trust", data("snp", "ask_ark_turin.pem"), "--cert", data("snp", "virtee_vcek_milan.der"),
                 "--at", "2024-01-01")
        self.assertFails(r, "CertUntrusted")

    def test_no_vcek(self):
        self.assertFails(snp(data("snp", "gosevguest_attestation.bin"), "--at", "2022-09-24"),
                         "CertUntrusted")

    def test_cmw_collection(self):
        # The attester's form: a CMW collection {"report": ..., "vcek": ...}.
        with open(data("snp", "gosevguest_attestation.bin"), "rb") as f:
            report = f.read()
        with open(data("snp", "gosevguest_vcek.der"), "rb") as f:
            vcek = f.read()
        cmw = cbor2.dumps({"report": [MT_SNP, report, 4], "vcek": ["application/pkix-cert", vcek, 2]})
        ev = self.write("snp.cbor", cmw)
        r = atls("verify", ev, "--trust", data("snp", "ask_ark_milan.pem"), "--at", "2022-09-24T12:00:00Z",
                 "--nonce", GSG_NONCE)
        self.assertOk(r)


# ---------------------------------------------------------------------------
# TDX vectors (tests/data/tdx)


def tdx_available():
    """Whether the tdx verifier is registered (a policy naming its media
    type is accepted)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"schemes": {MT_TDX: {}}}, f)
    try:
        r = atls("verify", "--policy", f.name, data("tdx", "intel_sgx_root_ca.pem"),
                 "--media-type", MT_TDX)
        return "no verifier for media type" not in r.err
    finally:
        os.unlink(f.name)


def tdx(name, at, *args):
    return atls("verify", data("tdx", name), "--media-type", MT_TDX,
                "--trust", data("tdx", "intel_sgx_root_ca.pem"), "--at", at, *args)


SPR_REPORT_DATA = ("6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b98"
                   "7a467dacead6f0c87a6d766c66f6f29f8acb281f1113")


class TdxTest(CliTestCase):
    def setUp(self):
        super().setUp()
        # Not a silent skip: without the tdx plug-in every case here fails.
        self.assertTrue(tdx_available(), "the tdx verifier is not registered in atls")

    def test_spr_e4_valid(self):
        r = tdx("gotdx_tdx_prod_quote_SPR_E4.dat", "2023-07-01", "--nonce", SPR_REPORT_DATA, "--json")
        self.assertOk(r)
        doc = r.json()
        self.assertTrue(doc["hardware_rooted"])
        self.assertTrue(doc["nonce_verified"])
        text = json.dumps(doc["claims"])
        self.assertIn("6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc"
                      "10d5e119d7215cbb", text)  # MRTD

    def test_spr_e4_wrong_nonce(self):
        r = tdx("gotdx_tdx_prod_quote_SPR_E4.dat", "2023-07-01", "--nonce", SPR_REPORT_DATA[:-4] + "2213")
        self.assertFails(r, "NonceMismatch")

    def test_spr_e4_expired(self):
        self.assertFails(tdx("gotdx_tdx_prod_quote_SPR_E4.dat", "2053-07-01"), "CertExpired")

    def test_other_valid_quotes(self):
        for name, at in (("gotdx_quote_v5_sample.dat", "2026-02-03"),
                         ("dcapqvl_tdx_quote_v4.dat", "2025-07-01"),
                         ("dcapqvl_tdx_quote_outdated_v5.dat", "2026-03-01"),
                         ("gotdx_cos-113-tdx-quote.dat", "2025-01-01")):
            with self.subTest(name=name):
                self.assertOk(tdx(name, at), name)

    def test_tampered_quotes(self):
        # Each derived quote of the MANIFEST fails with its own error.
        for name, err in (("bad_gotdx_v4_version_byte_0x0.dat", "TdxUnsupportedVersion"),
                          ("bad_gotdx_v4_signed_data_size_0x278.dat", "TdxMalformed"),
                          ("bad_gotdx_v4_cert_chain_byte_0x1343.dat", "TdxBadPckChain"),
                          ("bad_gotdx_v4_root_cert_byte_0x1329.dat", "CertUntrusted"),
                          ("bad_gotdx_v4_intermediate_cert_byte_0xf5f.dat", "CertChainInvalid"),
                          ("bad_gotdx_v4_pck_cert_byte_0xb77.dat", "CertChainInvalid"),
                          ("bad_gotdx_v4_header_byte_0x1e.dat", "TdxBadQuoteSignature"),
                          ("bad_gotdx_v4_td_quote_body_0x3c.dat", "TdxBadQuoteSignature")):
            with self.subTest(name=name):
                self.assertFails(tdx(name, "2023-07-01"), err)

    def test_machine_id_and_json(self):
        doc = tdx("gotdx_tdx_prod_quote_SPR_E4.dat", "2023-07-01", "--json").json()
        self.assertEqual(doc["machine_id"], "tdx-ppid:089ddfdb9c0359c82a3bc7719239574e")
        self.assertEqual(doc["claims"]["pck"]["fmspc"], "50806f000000")
        self.assertFalse(doc["nonce_verified"])

    def test_untrusted_root(self):
        r = atls("verify", data("tdx", "gotdx_tdx_prod_quote_SPR_E4.dat"), "--media-type", MT_TDX,
                 "--trust", data("snp", "ask_ark_milan.pem"), "--at", "2023-07-01")
        self.assertFails(r, "CertUntrusted")


# ---------------------------------------------------------------------------
# TPM vectors: GCE vTPM (RSA) and tpm2-tools quotes (ECC, RSAPSS)

GCE = data("tpm", "gce_cos85_nonce9009")
GCE_NONONCE = data("tpm", "gce_cos85_nononce")


def gce(bank, attest_dir=GCE, sig_dir=None, *args):
    sig_dir = sig_dir or attest_dir
    return atls("verify",
                "--tpm-quote", os.path.join(attest_dir, f"quote_{bank}.tpms_attest.bin"),
                "--tpm-signature", os.path.join(sig_dir, f"quote_{bank}.tpmt_signature.bin"),
                "--tpm-pcrs", os.path.join(attest_dir, f"pcrs_{bank}.json"), *args)


CHAIN = ["--cert", os.path.join(GCE, "ak_cert.der"),
         "--cert", data("tpm", "gce_tpm_ek_intermediate_2.crt"),
         "--trust", data("tpm", "gce_tpm_ek_root_1.cer"), "--at", "2024-01-01"]


class TpmVectorsTest(CliTestCase):
    def gce_ak_pem(self):
        with open(os.path.join(GCE, "ak_cert.der"), "rb") as f:
            cert = x509.load_der_x509_certificate(f.read())
        return self.write("gce_ak.pem", cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    def gce_eku_policy(self):
        # GCE's AK certificates carry the EK certificate EKU (2.23.133.8.1),
        # not tcg-kp-AIKCertificate: the policy accepts it explicitly.
        return ["--policy", self.write("gce_eku.json", json.dumps(
            {"required_tier": "warning",
             "schemes": {MT_TPM: {"trust": {"ak_certificate_ekus": ["2.23.133.8.1"]},
                                  "reference": {"dangerous_any_measurement": True}}}}))]

    def test_gce_all_banks_with_chain(self):
        self.assertFails(gce("sha256", GCE, None, "--nonce", "9009", *CHAIN),
                         "TpmAkCertificateProfile")
        for bank in ("sha1", "sha256", "sha384"):
            with self.subTest(bank=bank):
                r = gce(bank, GCE, None, "--nonce", "9009", "--json", *CHAIN,
                        *self.gce_eku_policy())
                self.assertOk(r, bank)
                doc = r.json()
                self.assertEqual(doc["claims"]["ak_trust"], "certificate")
                self.assertEqual(doc["claims"]["signature_alg"], "rsassa")
                self.assertEqual(len(doc["claims"]["pcrs"][bank]), 24)
                self.assertTrue(doc["nonce_verified"])

    def test_gce_pinned_ak_and_ak_pub(self):
        ak = self.gce_ak_pem()
        r = gce("sha256", GCE, None, "--nonce", "9009", "--trust", ak,
                "--tpm-ak-pub", os.path.join(GCE, "ak_pub.tpmt_public.bin"))
        self.assertOk(r)
        self.assertIn("machine id:  tpm-ak-name:000b", r.text)
        self.assertOk(gce("sha256", GCE_NONONCE, None, "--trust", ak, "--nonce", ""), "no nonce")

    def test_gce_nonce_mismatch(self):
        ak = self.gce_ak_pem()
        self.assertFails(gce("sha256", GCE_NONONCE, None, "--trust", ak, "--nonce", "9009"),
                         "NonceMismatch")
        self.assertFails(gce("sha256", GCE, None, "--trust", ak, "--nonce", "9008"), "NonceMismatch")
        self.assertFails(gce("sha256", GCE, None, "--trust", ak, "--nonce", ""), "NonceMismatch")
        ok = gce("sha256", GCE_NONONCE, None, "--trust", ak, "--nonce", "", "--json")
        self.assertOk(ok)
        self.assertTrue(ok.json()["nonce_verified"])

    def test_gce_crossed_signature(self):
        ak = self.gce_ak_pem()
        r = gce("sha256", GCE, GCE_NONONCE, "--trust", ak)
        self.assertFails(r, "TpmBadSignature")

    def test_gce_missing_intermediate(self):
        r = gce("sha256", GCE, None, "--cert", os.path.join(GCE, "ak_cert.der"),
                "--trust", data("tpm", "gce_tpm_ek_root_1.cer"), "--at", "2024-01-01",
                *self.gce_eku_policy())
        self.assertFails(r, "CertUntrusted")

    def test_gce_wrong_pcr_values(self):
        doc = json.load(open(os.path.join(GCE, "pcrs_sha256.json")))
        doc["pcrs"]["7"] = "00" * 32
        pcrs = self.write("pcrs.json", json.dumps(doc))
        r = atls("verify", "--tpm-quote", os.path.join(GCE, "quote_sha256.tpms_attest.bin"),
                 "--tpm-signature", os.path.join(GCE, "quote_sha256.tpmt_signature.bin"),
                 "--tpm-pcrs", pcrs, "--trust", self.gce_ak_pem())
        self.assertFails(r, "TpmPcrDigestMismatch")

    def test_tools_quotes(self):
        for d in ("tools_ecc", "tools_rsapss"):
            with self.subTest(d=d):
                base = data("tpm", d)
                args = ["verify", "--tpm-quote", os.path.join(base, "msg"),
                        "--tpm-signature", os.path.join(base, "sig"),
                        "--tpm-pcrs", os.path.join(base, "pcrs"),
                        "--trust", os.path.join(base, "ak.pem")]
                self.assertOk(atls(*args, "--nonce", "00112233445566778899aabbccddeeff"), d)
                r = atls(*args, "--tpm-ak-pub", os.path.join(base, "ak.pub"), "--json")
                self.assertOk(r, d + " with ak.pub")
                self.assertEqual(r.json()["claims"]["signature_alg"],
                                 "ecdsa" if d == "tools_ecc" else "rsapss")
                self.assertFails(atls(*args, "--nonce", "00112233445566778899aabbccddeefe"),
                                 "NonceMismatch")

    def test_tools_wrong_ak(self):
        base = data("tpm", "tools_ecc")
        r = atls("verify", "--tpm-quote", os.path.join(base, "msg"),
                 "--tpm-signature", os.path.join(base, "sig"), "--tpm-pcrs", os.path.join(base, "pcrs"),
                 "--trust", data("tpm", "tools_rsapss", "ak.pem"))
        self.assertFails(r, "TpmBadSignature")

    def test_tpm_files_incomplete(self):
        base = data("tpm", "tools_ecc")
        r = atls("verify", "--tpm-quote", os.path.join(base, "msg"), "--trust", os.path.join(base, "ak.pem"))
        self.assertFails(r, "InvalidArgument", EXIT_USAGE)

    def test_tpm_files_swapped(self):
        base = data("tpm", "tools_ecc")
        r = atls("verify", "--tpm-quote", os.path.join(base, "sig"),
                 "--tpm-signature", os.path.join(base, "msg"), "--tpm-pcrs", os.path.join(base, "pcrs"),
                 "--trust", os.path.join(base, "ak.pem"))
        self.assertEqual(r.rc, EXIT_REJECTED, r.err)
        self.assertTrue("TpmBadMagic" in r.err or "TpmMalformed" in r.err, r.err)
        self.assertIn(os.path.join(base, "sig"), r.err)  # names the file at fault


# ---------------------------------------------------------------------------
# tpm2 attester against a private swtpm


class SwtpmTest(CliTestCase):
    NONCE = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"

    def test_attest_and_verify(self):
        tpm = Swtpm()
        try:
            tpm.start()
            ev = self.path("quote.cbor")
            r = atls("attest", "--attester", "tpm2", "--tcti", tpm.tcti, "--pcrs", "0,1,2,7",
                     "--nonce", self.NONCE, "--out", ev)
            self.assertOk(r, "attest")
            # The AK is printed on stderr for pinning.
            begin = r.err.index("-----BEGIN PUBLIC KEY-----")
            end = r.err.index("-----END PUBLIC KEY-----") + len("-----END PUBLIC KEY-----")
            ak = self.write("ak.pem", r.err[begin:end] + "\n")

            # The same AK, read back independently with tpm2-tools.
            tools = shutil.which("tpm2_readpublic")
            self.assertIsNotNone(tools, "tpm2-tools is not installed")
            rp = subprocess.run([tools, "-c", "0x81010002", "-f", "pem", "-o", self.path("ak2.pem")],
                                env=dict(os.environ, TPM2TOOLS_TCTI=tpm.tcti),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(rp.returncode, 0, rp.stderr)
            with open(ak, "rb") as a, open(self.path("ak2.pem"), "rb") as b:
                k1 = serialization.load_pem_public_key(a.read())
                k2 = serialization.load_pem_public_key(b.read())
            self.assertEqual(k1.public_numbers(), k2.public_numbers())

            v = atls("verify", ev, "--trust", ak, "--nonce", self.NONCE, "--json")
            self.assertOk(v, "verify")
            doc = v.json()
            self.assertEqual(doc["media_type"], MT_TPM)
            self.assertEqual(sorted(doc["claims"]["pcrs"]["sha256"], key=int), ["0", "1", "2", "7"])
            self.assertEqual(doc["claims"]["signature_alg"], "ecdsa")
            self.assertTrue(doc["machine_id"].startswith("tpm-ak-name:000b"))

            self.assertFails(atls("verify", ev, "--trust", ak, "--nonce", "ff" * 16), "NonceMismatch")
            other = self.write("other.pem", ec.generate_private_key(ec.SECP256R1()).public_key()
                               .public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo))
            self.assertFails(atls("verify", ev, "--trust", other), "KeyUntrusted")

            # A second quote reuses the persisted AK; --pubkey-out writes it.
            ev2 = self.path("quote2.cbor")
            r2 = atls("attest", "--attester", "tpm2", "--tcti", tpm.tcti, "--nonce", self.NONCE,
                      "--out", ev2, "--pubkey-out", self.path("ak3.pem"))
            self.assertOk(r2, "second attest")
            with open(self.path("ak3.pem"), "rb") as f:
                self.assertEqual(serialization.load_pem_public_key(f.read()).public_numbers(),
                                 k1.public_numbers())

            # Policy with reference PCR values: the real values are accepted,
            # a changed one is rejected with MeasurementMismatch.
            pcrs = doc["claims"]["pcrs"]["sha256"]
            good = {"required_tier": "affirming",
                    "schemes": {MT_TPM: {"trust": {"ak_keys": [ak]},
                                         "reference": {"pcrs": {"sha256": pcrs}}}}}
            self.assertOk(atls("verify", ev, "--policy", self.write("good.json", json.dumps(good)),
                               "--nonce", self.NONCE), "policy")
            bad = json.loads(json.dumps(good))
            bad["schemes"][MT_TPM]["reference"]["pcrs"]["sha256"]["7"] = "11" * 32
            self.assertFails(atls("verify", ev, "--policy", self.write("bad.json", json.dumps(bad)),
                                  "--nonce", self.NONCE), "MeasurementMismatch")
        finally:
            tpm.cleanup()
        self.assertIsNone(tpm.proc)


# ---------------------------------------------------------------------------
# malformed input, policies, usage


class InputErrorsTest(CliTestCase):
    def software_evidence(self):
        ev = self.path("ev.cbor")
        r = atls("attest", "--attester", "software", "--nonce", "00" * 16, "--out", ev,
                 "--pubkey-out", self.path("pub.pem"), "--machine-id-file", self.machine_id)
        self.assertOk(r)
        with open(ev, "rb") as f:
            return f.read()

    def test_truncated_inputs(self):
        cmw = self.software_evidence()
        with open(data("snp", "gosevguest_attestation.bin"), "rb") as f:
            report = f.read()
        with open(data("tdx", "gotdx_tdx_prod_quote_SPR_E4.dat"), "rb") as f:
            quote = f.read()
        cases = [
            ("cmw", cmw, [], ("CborMalformed", "CmwMalformed")),
            ("snp", report, ["--media-type", MT_SNP, "--trust", data("snp", "ask_ark_milan.pem")],
             ("SnpMalformed",)),
        ]
        if tdx_available():
            # The SPR E4 quote is followed by 39 bytes outside the quote: cut
            # inside the quote itself.
            cases.append(("tdx", quote[:len(quote) - 39],
                          ["--media-type", MT_TDX, "--trust", data("tdx", "intel_sgx_root_ca.pem")],
                          ("TdxMalformed", "TdxBadPckChain")))
        for name, blob, args, errors in cases:
            for cut in (1, len(blob) // 2, len(blob) - 1):
                with self.subTest(name=name, cut=cut):
                    f = self.write(f"{name}_{cut}", blob[:cut])
                    r = atls("verify", f, "--at", "2023-07-01", *args)
                    self.assertEqual(r.rc, EXIT_REJECTED, f"{name}[:{cut}]: {r.err}")
                    self.assertTrue(any(e in r.err for e in errors), f"{name}[:{cut}]: {r.err}")
        msg = data("tpm", "tools_ecc", "msg")
        with open(msg, "rb") as f:
            m = f.read()
        r = atls("verify", "--tpm-quote", self.write("msg", m[:40]),
                 "--tpm-signature", data("tpm", "tools_ecc", "sig"),
                 "--tpm-pcrs", data("tpm", "tools_ecc", "pcrs"), "--trust", data("tpm", "tools_ecc", "ak.pem"))
        self.assertFails(r, "TpmMalformed")
        empty = self.write("empty", b"")
        r = atls("verify", empty)
        self.assertEqual(r.rc, EXIT_REJECTED, r.err)
        self.assertTrue("CborMalformed" in r.err or "CmwMalformed" in r.err, r.err)

    def test_trailing_and_garbage(self):
        cmw = self.software_evidence()
        r = atls("verify", self.write("trail", cmw + b"\x00"), "--trust", self.path("pub.pem"))
        self.assertEqual(r.rc, EXIT_REJECTED, r.err)
        self.assertIn("Trailing", r.err)
        r = atls("verify", self.write("garbage", os.urandom(4096)))
        self.assertEqual(r.rc, EXIT_REJECTED, r.err)

    def test_oversize_input(self):
        big = self.path("big")
        with open(big, "wb") as f:
            f.truncate(16 * 1024 * 1024 + 1)  # sparse: no disk used
        self.assertFails(atls("verify", big), "FileTooLarge")
        self.assertFails(atls("verify", big, "--media-type", MT_SNP), "FileTooLarge")
        self.assertFails(atls("verify", "--tpm-quote", big, "--tpm-signature", big, "--tpm-pcrs", big),
                         "FileTooLarge")

    def test_missing_file(self):
        self.assertFails(atls("verify", self.path("nothing")), "FileNotFound")

    def test_policy_unknown_keys(self):
        ev = self.write("ev.cbor", self.software_evidence())
        for doc in ({"required_tier": "warning", "colour": "blue"},
                    {"schemes": {MT_EAT: {"trust": {"keys": [], "extra": 1}}}},
                    {"schemes": {MT_EAT: {"reference": {"pcrs": {}}}}},
                    {"schemes": {MT_EAT: {"trusts": {}}}},
                    {"ear": {"signing_key": "k.pem", "algorithm": "ES256"}}):
            with self.subTest(doc=doc):
                pol = self.write("pol.json", json.dumps(doc))
                r = atls("verify", ev, "--policy", pol)
                self.assertFails(r, "PolicyInvalid", EXIT_USAGE)

    def test_policy_bad_values(self):
        ev = self.write("ev.cbor", self.software_evidence())
        for text in ('{"required_tier": "excellent"}', '{"schemes": {"application/x-unknown": {}}}',
                     '{"max_evidence_age": -1}'):
            with self.subTest(text=text):
                self.assertFails(atls("verify", ev, "--policy", self.write("p.json", text)),
                                 "PolicyInvalid", EXIT_USAGE)
        r = atls("verify", ev, "--policy", self.write("p.json", '{"required_tier": '))
        self.assertFails(r, "JsonMalformed", EXIT_USAGE)
        self.assertFails(atls("verify", ev, "--policy", self.path("none.json")), "FileNotFound",
                         EXIT_USAGE)

    def test_verify_usage_errors(self):
        ev = self.write("ev.cbor", self.software_evidence())
        self.assertFails(atls("verify", ev, "--nonce", "xyz"), "InvalidHex", EXIT_USAGE)
        self.assertFails(atls("verify", ev, "--at", "yesterday"), "InvalidArgument", EXIT_USAGE)
        self.assertFails(atls("verify", ev, "--at", "99999999999999999999999"), "InvalidArgument",
                         EXIT_USAGE)
        self.assertFails(atls("verify"), "InvalidArgument", EXIT_USAGE)

    def test_unknown_media_type(self):
        ev = self.write("x.cbor", cbor2.dumps(["application/x-nothing", b"abc", 4]))
        self.assertFails(atls("verify", ev), "UnsupportedMediaType")

    def test_json_output_parses(self):
        runs = [
            atls("verify", data("snp", "gosevguest_attestation.bin"), "--media-type", MT_SNP, "--json",
                 "--trust", data("snp", "ask_ark_milan.pem"), "--cert", data("snp", "gosevguest_vcek.der"),
                 "--at", "2022-09-24T12:00:00Z"),
            atls("verify", data("snp", "bad_virtee_report_milan_byte21_flipped.bin"), "--json",
                 "--media-type", MT_SNP, "--trust", data("snp", "ask_ark_milan.pem"),
                 "--cert", data("snp", "virtee_vcek_milan.der"), "--at", "2024-01-01"),
        ]
        # Failures before verification also print a JSON object.
        runs.append(atls("verify", "--json", data("snp", "gosevguest_attestation.bin"), "--nonce", "x"))
        runs.append(atls("verify", "--json", data("snp", "gosevguest_attestation.bin")))
        self.assertEqual(runs[2].json()["error"], "InvalidHex")
        self.assertEqual(runs[3].rc, EXIT_REJECTED)
        self.assertIn(runs[3].json()["error"], ("CborMalformed", "CmwMalformed", "CborTrailingData"))
        self.assertTrue(runs[0].json()["verified"])
        bad = runs[1].json()
        self.assertFalse(bad["verified"])
        self.assertEqual(bad["error"], "SnpBadSignature")


# ---------------------------------------------------------------------------



if __name__ == "__main__":
    sys.exit(run_unittest_main(__name__, ATLS))
