"""Pre-handshake attestation through a gateway (docs/gateway.md), end to end
with the real commands, and the token checked by an independent reader and
writer: Python's `cryptography` opens the identity `atls gateway` sealed
(AES-256-GCM, docs/wire-profile.md §3) and seals tokens that `atls serve`
must accept or refuse.

  atls gateway --attester software --policy CLIENTS --token-key KEY
  atls connect GATEWAY --attester software ... > token.json
  atls serve --attester none --accept-gateway-tokens KEY --policy CLIENTS
  atls connect SERVER --token token.json

A loopback capture read by tshark shows the handshake on the wire: the
ClientHello offers the token as its only PSK identity with psk_dhe_ke alone,
and the ServerHello selects it together with an (EC)DHE key share.
"""

import base64
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_util import run_unittest_main  # noqa: E402
from sidecar_util import ATLS, AtlsProcess  # noqa: E402

PREFIX = b"atls-tok1"


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def read_vec8(buf, at):
    n = buf[at]
    return buf[at + 1:at + 1 + n], at + 1 + n


def parse_plaintext(p):
    """The plaintext layout of src/gateway/token.h, read independently."""
    version, flags = p[0], p[1]
    psk = p[2:34]
    iat, exp = struct.unpack(">QQ", p[34:50])
    token_id = p[50:66]
    audience, at = read_vec8(p, 66)
    status = struct.unpack(">b", p[at:at + 1])[0]
    hw = p[at + 1]
    verified_at, valid_until = struct.unpack(">QQ", p[at + 2:at + 18])
    media_type, at = read_vec8(p, at + 18)
    machine_id, at = read_vec8(p, at)
    (nsub,) = struct.unpack(">H", p[at:at + 2])
    at += 2
    subs = []
    for _ in range(nsub):
        name, at = read_vec8(p, at)
        policy_id, at = read_vec8(p, at)
        present = p[at]
        claims = struct.unpack(">8b", p[at + 1:at + 9])
        finding, at = read_vec8(p, at + 9)
        subs.append((name, policy_id, present, claims, finding))
    assert at == len(p), "trailing bytes"
    return dict(version=version, flags=flags, psk=psk, iat=iat, exp=exp, token_id=token_id,
                audience=audience, status=status, hw=hw, verified_at=verified_at,
                valid_until=valid_until, media_type=media_type, machine_id=machine_id, subs=subs)


def seal(key, fields):
    """Seals a token as a gateway would, written here from the layout."""
    p = bytes([1, fields.get("flags", 0)]) + fields["psk"]
    p += struct.pack(">QQ", fields["iat"], fields["exp"]) + fields["token_id"]
    p += bytes([len(fields["audience"])]) + fields["audience"]
    p += struct.pack(">bB", fields["status"], fields["hw"])
    p += struct.pack(">QQ", fields["verified_at"], fields["valid_until"])
    for v in (fields["media_type"], fields["machine_id"]):
        p += bytes([len(v)]) + v
    p += struct.pack(">H", len(fields["subs"]))
    for name, policy_id, present, claims, finding in fields["subs"]:
        p += bytes([len(name)]) + name + bytes([len(policy_id)]) + policy_id
        p += bytes([present]) + struct.pack(">8b", *claims) + bytes([len(finding)]) + finding
    nonce = os.urandom(12)
    return PREFIX + nonce + AESGCM(key).encrypt(nonce, p, PREFIX)


class GatewayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="atls-gateway-")
        cls.key_file = cls.path("gateway.key")
        subprocess.run([ATLS, "gateway", "--new-key", cls.key_file], check=True)
        cls.key = bytes.fromhex(open(cls.key_file).read().strip())
        cls.client_key = cls.path("client-key.pem")
        client_pub = cls.path("client-pub.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", cls.client_key],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", cls.client_key, "-pubout", "-out", client_pub],
                       check=True, capture_output=True)
        cls.clients = cls.path("clients.json")
        with open(cls.clients, "w") as f:
            json.dump({"required_tier": "warning",
                       "schemes": {"application/eat+cwt": {"trust": {"keys": [client_pub]}}}}, f)
        cls.gateway_policy = cls.path("gateway-policy.json")
        cls.gateway = AtlsProcess([ATLS, "gateway", "--attester", "software", "--listen",
                                   "127.0.0.1:0", "--json", "--policy", cls.clients,
                                   "--policy-out", cls.gateway_policy, "--token-key", cls.key_file])
        cls.gateway.port = cls.gateway.event_named("listening")["port"]
        cls.server = AtlsProcess([ATLS, "serve", "--attester", "none", "--listen", "127.0.0.1:0",
                                  "--json", "--accept-gateway-tokens", cls.key_file,
                                  "--policy", cls.clients])
        cls.server.port = cls.server.event_named("listening")["port"]

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop()
        cls.server.stop()

    @classmethod
    def path(cls, name):
        return os.path.join(cls.tmp, name)

    def fetch_token(self, name="token.json"):
        r = subprocess.run([ATLS, "connect", f"127.0.0.1:{self.gateway.port}", "--policy",
                            self.gateway_policy, "--attestation-only-identity", "--attester",
                            "software", "--attester-key", self.client_key, "--quiet"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        path = self.path(name)
        with open(path, "wb") as f:
            f.write(r.stdout)
        return path, json.loads(r.stdout)

    def use_token(self, path, data=b"through the token\n"):
        mark = self.server.mark()
        r = subprocess.run([ATLS, "connect", f"127.0.0.1:{self.server.port}", "--token", path,
                            "--json"], input=data, capture_output=True, timeout=30)
        line = self.server.wait_event(lambda e: e.get("event") == "connection", start=mark)
        return r, line

    def write_token(self, name, identity, psk, exp):
        path = self.path(name)
        with open(path, "w") as f:
            json.dump({"atls_gateway_token": 1, "identity": b64u(identity), "psk": b64u(psk),
                       "expires_at": exp}, f)
        return path

    def test_token_from_the_gateway_opens_the_internal_server(self):
        path, token = self.fetch_token()
        r, line = self.use_token(path)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout, b"through the token\n")
        self.assertEqual(line["result"], "ok", line)
        self.assertTrue(line["peer_attestation"]["gateway_token"], line)
        self.assertEqual(line["peer_attestation"]["status"], "warning", line)

    def test_python_opens_the_gateways_token(self):
        _, token = self.fetch_token("token-open.json")
        identity = b64u_decode(token["identity"])
        self.assertTrue(identity.startswith(PREFIX))
        nonce, sealed = identity[9:21], identity[21:]
        fields = parse_plaintext(AESGCM(self.key).decrypt(nonce, sealed, PREFIX))
        self.assertEqual(fields["version"], 1)
        self.assertEqual(fields["psk"], b64u_decode(token["psk"]))
        self.assertEqual(fields["exp"], token["expires_at"])
        self.assertLessEqual(fields["exp"] - fields["iat"], 300)
        self.assertLessEqual(fields["exp"], fields["valid_until"])
        self.assertEqual(fields["media_type"], b"application/eat+cwt")
        self.assertTrue(fields["machine_id"].startswith(b"ueid:"), fields["machine_id"])
        self.assertEqual(fields["status"], 32)  # warning: software evidence
        self.assertGreaterEqual(len(fields["subs"]), 1)
        # Another key does not open it.
        with self.assertRaises(Exception):
            AESGCM(bytes(32)).decrypt(nonce, sealed, PREFIX)

    def python_fields(self, **over):
        now = int(time.time())
        f = dict(psk=os.urandom(32), iat=now, exp=now + 60, token_id=os.urandom(16), audience=b"",
                 status=32, hw=0, verified_at=now, valid_until=now + 3600,
                 media_type=b"application/eat+cwt", machine_id=b"ueid:0199",
                 subs=[(b"software", b"py", 0x01, (32, 0, 0, 0, 0, 0, 0, 0), b"")])
        f.update(over)
        return f

    def test_a_token_sealed_by_python_is_accepted(self):
        f = self.python_fields()
        path = self.write_token("py.json", seal(self.key, f), f["psk"], f["exp"])
        r, line = self.use_token(path, b"independent writer\n")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout, b"independent writer\n")
        self.assertEqual(line["peer_attestation"]["machine_id"], "ueid:0199", line)

    def refused(self, name, identity, psk, exp, server_code):
        path = self.write_token(name, identity, psk, exp)
        r, line = self.use_token(path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("GatewayTokenRejected", r.stderr.decode())
        self.assertEqual(line["result"], server_code, line)

    def test_expired_forged_wrong_psk_and_other_key_are_refused_with_their_codes(self):
        now = int(time.time())
        f = self.python_fields(iat=now - 120, exp=now - 60)
        self.refused("expired.json", seal(self.key, f), f["psk"], now + 60, "GatewayTokenExpired")
        f = self.python_fields()
        forged = bytearray(seal(self.key, f))
        forged[30] ^= 1
        self.refused("forged.json", bytes(forged), f["psk"], f["exp"], "GatewayTokenInvalid")
        self.refused("other-key.json", seal(os.urandom(32), f), f["psk"], f["exp"],
                     "GatewayTokenInvalid")
        self.refused("wrong-psk.json", seal(self.key, f), os.urandom(32), f["exp"],
                     "GatewayTokenPskMismatch")

    def test_a_single_use_token_opens_one_connection(self):
        f = self.python_fields(flags=1)
        path = self.write_token("once.json", seal(self.key, f), f["psk"], f["exp"])
        r, _ = self.use_token(path)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        r, line = self.use_token(path)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(line["result"], "GatewayTokenReplayed", line)

    def test_the_capture_shows_a_psk_dhe_ke_handshake_with_the_token(self):
        path, token = self.fetch_token("token-capture.json")
        pcap = self.path("token.pcap")
        port = self.server.port
        dump = subprocess.Popen(["dumpcap", "-q", "-P", "-i", "lo", "-f", f"tcp port {port}",
                                 "-w", pcap], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not (os.path.exists(pcap) and os.path.getsize(pcap) > 0):
                self.assertLess(time.monotonic(), deadline, "dumpcap did not start")
                time.sleep(0.05)
            time.sleep(0.3)
            r, line = self.use_token(path)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            time.sleep(0.5)
        finally:
            dump.terminate()
            dump.wait(timeout=10)

        def fields(filter_, *names):
            args = ["tshark", "-r", pcap, "-d", f"tcp.port=={port},tls", "-Y", filter_, "-T",
                    "fields"]
            for n in names:
                args += ["-e", n]
            out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
            return [row.split("\t") for row in out.stdout.splitlines() if row.strip()]

        hello = fields("tls.handshake.type == 1", "tls.handshake.extensions.psk.identity.identity",
                       "tls.extension.psk_ke_mode")
        self.assertEqual(len(hello), 1, hello)
        identity = bytes.fromhex(hello[0][0].replace(":", ""))
        self.assertEqual(identity, b64u_decode(token["identity"]))
        self.assertEqual(hello[0][1], "1")  # psk_dhe_ke only
        server_hello = fields("tls.handshake.type == 2",
                              "tls.handshake.extensions.psk.identity.selected",
                              "tls.handshake.extensions_key_share_group")
        self.assertEqual(len(server_hello), 1, server_hello)
        self.assertEqual(server_hello[0][0], "0")  # the token's PSK was selected
        self.assertNotEqual(server_hello[0][1], "")  # with a fresh key share
        # No Certificate in the clear (TLS 1.3 encrypts it; a PSK handshake has none).
        self.assertEqual(fields("tls.handshake.type == 11", "frame.number"), [])

    def test_a_client_without_a_token_is_refused(self):
        mark = self.server.mark()
        r = subprocess.run([ATLS, "connect", f"127.0.0.1:{self.server.port}", "--policy",
                            self.gateway_policy, "--attestation-only-identity", "--attester",
                            "software", "--attester-key", self.client_key],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        line = self.server.wait_event(lambda e: e.get("event") == "connection", start=mark)
        self.assertEqual(line["result"], "GatewayTokenRequired", line)


if __name__ == "__main__":
    sys.exit(run_unittest_main(__name__, ATLS))
