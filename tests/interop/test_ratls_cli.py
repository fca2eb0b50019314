#!/usr/bin/python3
"""End-to-end tests of `atls inspect` and `atls verify` on RA-TLS certificates.

The real Interoperable RA-TLS certificates of tests/data/ratls/ (Gramine, Intel
SGX SDK, rats-tls) at the fixed times of their README, and derived failures.
The key hash printed by atls is recomputed here with Python `cryptography`.
Prints "N passed, M failed" and exits non-zero on any failure.
"""

import hashlib
import sys
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from interop_util import run_unittest_main
from test_cli import ATLS, EXIT_USAGE, CliTestCase, atls, data

ROOT = data("tdx", "intel_sgx_root_ca.pem")
GRAMINE = data("ratls", "iratls_gramine-cert.pem")
SGXSDK = data("ratls", "iratls_intel-sgxsdk-cert.pem")
RATSTLS = data("ratls", "iratls_rats-tls-cert.pem")


def spki_sha256(path):
    cert = x509.load_pem_x509_certificate(open(path, "rb").read())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


class RatlsCliTest(CliTestCase):
    def verify(self, cert, *extra):
        return atls("verify", cert, "--trust", ROOT, *extra)

    def test_each_certificate_verifies_at_its_fixed_time(self):
        for cert, at in ((GRAMINE, "2025-01-01"), (SGXSDK, "2025-01-01"), (RATSTLS, "2023-06-01")):
            r = self.verify(cert, "--at", at, "--json")
            self.assertOk(r, cert)
            j = r.json()
            self.assertTrue(j["verified"])
            self.assertEqual(j["ratls_extension"], "tcg-dice-tagged-evidence")
            self.assertEqual(j["spki_sha256"], spki_sha256(cert))
            self.assertEqual([c["check"] for c in j["checks"]],
                             ["certificate", "key binding", "evidence", "report data"])

    def test_rats_tls_certificate_is_expired_now(self):
        self.assertFails(self.verify(RATSTLS), "CertExpired")

    def test_without_the_intel_root(self):
        r = atls("verify", GRAMINE, "--at", "2025-01-01",
                 "--trust", data("tdx", "test_chain", "root.test.pem"))
        self.assertFails(r, "CertUntrusted")

    def test_policy_with_reference_values(self):
        policy = self.write("policy.json", """{"schemes": {"application/vnd.atls.sgx-quote": {
          "trust": {"sgx_root": "%s"},
          "reference": {"mrenclave": "09e218a4be9dadbf7cdc82c45497d6d4f676d3b75445fc37a376f0b65b47de6a",
                        "allow_debug": true}}}}""" % ROOT)
        r = atls("verify", SGXSDK, "--at", "2025-01-01", "--policy", policy)
        self.assertOk(r)
        self.assertIn("verdict: accepted", r.text)
        r = atls("verify", GRAMINE, "--at", "2025-01-01", "--policy", policy)
        self.assertFails(r, "MeasurementMismatch")

    def test_bad_connection_nonce_is_a_usage_error(self):
        r = self.verify(GRAMINE, "--at", "2025-01-01", "--connection-nonce", "zz")
        self.assertFails(r, "InvalidHex", rc=EXIT_USAGE)

    def test_inspect_shows_the_dice_evidence(self):
        r = atls("inspect", SGXSDK, "--json")
        self.assertOk(r)
        d = r.json()["ratls_dice"]
        self.assertEqual(d["spki_sha256"], spki_sha256(SGXSDK))
        self.assertTrue(d["pubkey_hash_names_this_key"])
        self.assertEqual(d["quote"]["body"]["mr_enclave"],
                         "09e218a4be9dadbf7cdc82c45497d6d4f676d3b75445fc37a376f0b65b47de6a")


if __name__ == "__main__":
    sys.exit(run_unittest_main(__name__, ATLS))
