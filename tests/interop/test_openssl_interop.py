#!/usr/bin/python3
"""Interop of `atls serve` / `atls connect` with stock OpenSSL and each other.

Providers (in the manner of s2n's integrationv2): AtlsServer, AtlsClient,
OpenSSLServer (`openssl s_server`) and OpenSSLClient (`openssl s_client`).
Cases:
  - a stock `openssl s_client -tls1_3` completes a normal TLS 1.3 handshake
    with `atls serve` when client attestation is optional, and gets the echo;
  - `atls connect` with required attestation to `openssl s_server -tls1_3`
    fails with AttestationRequired (non-zero exit, the name in its output)
    and sends no application byte; with --optional it falls back to plain
    TLS and the bytes arrive;
  - `atls serve` <-> `atls connect` with the software attester (happy path,
    JSON appraisal), as a sidecar in front of a plain backend, through the
    `connect --listen` tunnel, refused on a measurement mismatch, mutual
    attestation (and a non-attesting client refused), and a clean stop on
    SIGTERM;
  - `atls demo` passes every scenario and leaves no swtpm or Verifier service
    behind.
Everything binds to 127.0.0.1 on free ports; every process is killed in a
finally block. Prints "N passed, M failed"; exits non-zero on a failure.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from interop_util import free_port

BUILD = os.environ.get("ATLS_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
ATLS = os.path.join(BUILD, "tools", "atls")
TIMEOUT = 20  # seconds, per blocking step



class Proc:
    """A child process whose stderr is collected on a thread."""

    def __init__(self, argv, stdin=subprocess.PIPE):
        self.argv = argv
        self.p = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.err_lines = []
        self.out = b""
        self._lock = threading.Lock()
        self._t_err = threading.Thread(target=self._pump_err, daemon=True)
        self._t_err.start()
        self._t_out = threading.Thread(target=self._pump_out, daemon=True)
        self._t_out.start()

    def _pump_err(self):
        for line in self.p.stderr:
            with self._lock:
                self.err_lines.append(line.decode(errors="replace"))

    def _pump_out(self):
        while True:
            chunk = self.p.stdout.read1(65536) if hasattr(self.p.stdout, "read1") else self.p.stdout.read(1)
            if not chunk:
                return
            with self._lock:
                self.out += chunk

    def stderr_text(self) -> str:
        with self._lock:
            return "".join(self.err_lines)

    def stdout_bytes(self) -> bytes:
        with self._lock:
            return self.out

    def json_events(self):
        events = []
        for line in self.stderr_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass
        return events

    def wait_event(self, pred, timeout=TIMEOUT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for e in self.json_events():
                if pred(e):
                    return e
            if self.p.poll() is not None:
                self._t_err.join(timeout=5)
                for e in self.json_events():
                    if pred(e):
                        return e
                raise RuntimeError(f"{self.argv[0:2]} exited {self.p.returncode}: {self.stderr_text()}")
            time.sleep(0.05)
        raise TimeoutError(f"no matching event; stderr: {self.stderr_text()}")

    def wait_stdout(self, needle: bytes, timeout=TIMEOUT) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in self.stdout_bytes():
                return True
            if self.p.poll() is not None:
                self._t_out.join(timeout=5)
                return needle in self.stdout_bytes()
            time.sleep(0.05)
        return False

    def write(self, data: bytes):
        """Writes to stdin; a process that already exited (refused) is fine."""
        try:
            self.p.stdin.write(data)
            self.p.stdin.flush()
        except BrokenPipeError:
            pass

    def close_stdin(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass

    def wait(self, timeout=TIMEOUT) -> int:
        """Waits for the exit, then for the readers to reach EOF (all output collected)."""
        rc = self.p.wait(timeout=timeout)
        for t in (self._t_err, self._t_out):
            t.join(timeout=5)
        return rc

    def kill(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        for t in (self._t_err, self._t_out):
            t.join(timeout=2)


class AtlsServer(Proc):
    def __init__(self, work, extra):
        argv = [ATLS, "serve", "--listen", "127.0.0.1:0", "--cert", work.cert, "--key", work.key,
                "--json"] + extra
        super().__init__(argv, stdin=subprocess.DEVNULL)
        self.port = self.wait_event(lambda e: e.get("event") == "listening")["port"]


class AtlsClient(Proc):
    def __init__(self, port, extra):
        super().__init__([ATLS, "connect", f"127.0.0.1:{port}", "--json"] + extra)


class OpenSSLServer(Proc):
    def __init__(self, work):
        self.port = free_port()
        super().__init__(["openssl", "s_server", "-tls1_3", "-accept", f"127.0.0.1:{self.port}",
                          "-cert", work.cert, "-key", work.key, "-naccept", "1", "-ign_eof"])
        # A probe connection would use up -naccept 1: wait for its banner.
        if not self.wait_stdout(b"ACCEPT"):
            raise TimeoutError(f"s_server did not start: {self.stderr_text()}")


class OpenSSLClient(Proc):
    def __init__(self, work, port):
        super().__init__(["openssl", "s_client", "-tls1_3", "-connect", f"127.0.0.1:{port}",
                          "-servername", "localhost", "-CAfile", work.cert, "-verify_return_error",
                          "-brief"])


class Work:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="atls-interop-")
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "1",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_json(self, name, obj):
        p = self.path(name)
        with open(p, "w") as f:
            json.dump(obj, f)
        return p

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------

def test_openssl_client_to_atls_serve(work, procs):
    """A stock s_client completes TLS 1.3 with `atls serve` (client attestation optional)."""
    client_policy = work.write_json("client-policy.json", {"required_tier": "warning", "schemes": {}})
    server = AtlsServer(work, ["--attester", "software", "--optional-client-attestation",
                               "--policy", client_policy])
    procs.append(server)
    client = OpenSSLClient(work, server.port)
    procs.append(client)
    client.write(b"hello from openssl s_client\n")
    assert client.wait_stdout(b"hello from openssl s_client"), \
        f"no echo; s_client: {client.stderr_text()} server: {server.stderr_text()}"
    client.close_stdin()  # s_client sends close_notify at the end of its input
    client.wait()
    assert "TLSv1.3" in client.stderr_text(), client.stderr_text()
    event = server.wait_event(lambda e: e.get("event") == "connection")
    assert event["result"] == "ok", event
    assert event["peer_attestation"]["plain_tls"] is True, event


def test_atls_connect_to_openssl_server_requires_attestation(work, procs):
    """`atls connect` with required attestation refuses a plain s_server and sends nothing."""
    policy = work.write_json("any-policy.json", {"required_tier": "warning", "schemes": {}})
    server = OpenSSLServer(work)
    procs.append(server)
    client = AtlsClient(server.port, ["--policy", policy, "--ca", work.cert, "--servername", "localhost"])
    procs.append(client)
    client.write(b"application-secret-bytes\n")
    client.close_stdin()
    rc = client.wait()
    text = client.stderr_text()
    assert rc != 0, f"exit {rc}: {text}"
    assert "AttestationRequired" in text, text
    time.sleep(0.3)
    assert b"application-secret-bytes" not in server.stdout_bytes(), server.stdout_bytes()


def test_atls_connect_optional_falls_back_to_plain_tls(work, procs):
    """With --optional, `atls connect` talks plain TLS 1.3 to s_server and says so."""
    policy = work.write_json("optional-policy.json", {"required_tier": "warning", "schemes": {}})
    server = OpenSSLServer(work)
    procs.append(server)
    client = AtlsClient(server.port, ["--policy", policy, "--ca", work.cert, "--servername", "localhost",
                                      "--optional", "--linger-ms", "300"])
    procs.append(client)
    client.write(b"plain-tls-bytes\n")
    assert server.wait_stdout(b"plain-tls-bytes"), server.stderr_text() + client.stderr_text()
    client.close_stdin()
    assert client.wait() == 0, client.stderr_text()
    attested = [e for e in client.json_events() if e.get("event") == "attested"]
    assert attested and attested[0]["peer_attestation"]["plain_tls"] is True, client.stderr_text()


def start_software_server(work, procs, extra=()):
    policy_out = work.path(f"server-policy-{len(procs)}.json")
    server = AtlsServer(work, ["--attester", "software", "--policy-out", policy_out] + list(extra))
    procs.append(server)
    return server, policy_out


def test_atls_serve_connect_software(work, procs):
    """serve <-> connect, software attester, background-check: appraisal in JSON, echo on stdout."""
    server, policy = start_software_server(work, procs)
    client = AtlsClient(server.port, ["--policy", policy, "--ca", work.cert, "--servername", "localhost"])
    procs.append(client)
    client.write(b"ping over atls\n")
    assert client.wait_stdout(b"ping over atls"), client.stderr_text()
    client.close_stdin()
    rc = client.wait()
    assert rc == 0, f"exit {rc}: {client.stderr_text()}"
    attested = [e for e in client.json_events() if e.get("event") == "attested"]
    assert attested, client.stderr_text()
    pa = attested[0]["peer_attestation"]
    assert pa["media_type"] == "application/eat+cwt", pa
    assert pa["status"] in ("affirming", "warning"), pa
    assert pa["machine_id"], pa


def test_atls_serve_as_sidecar(work, procs):
    """serve --backend forwards the attested stream to a plain TCP backend."""
    backend = socket.socket()
    backend.bind(("127.0.0.1", 0))
    backend.listen(4)
    backend.settimeout(TIMEOUT)
    port = backend.getsockname()[1]

    def serve_backend():
        try:
            conn, _ = backend.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                data = conn.recv(4096)
                conn.sendall(b"backend:" + data.upper())
        except OSError:
            pass

    t = threading.Thread(target=serve_backend, daemon=True)
    t.start()
    try:
        server, policy = start_software_server(work, procs, ["--backend", f"127.0.0.1:{port}"])
        client = AtlsClient(server.port, ["--policy", policy, "--ca", work.cert, "--servername", "localhost"])
        procs.append(client)
        client.write(b"sidecar\n")
        assert client.wait_stdout(b"backend:SIDECAR"), client.stderr_text() + server.stderr_text()
        client.close_stdin()
        assert client.wait() == 0, client.stderr_text()
    finally:
        backend.close()
        t.join(timeout=5)


def test_atls_connect_tunnel(work, procs):
    """connect --listen tunnels a plain local TCP connection into the attested one."""
    server, policy = start_software_server(work, procs)
    tunnel = AtlsClient(server.port, ["--policy", policy, "--ca", work.cert, "--servername", "localhost",
                                      "--listen", "127.0.0.1:0", "--count", "1"])
    procs.append(tunnel)
    port = tunnel.wait_event(lambda e: e.get("event") == "listening")["port"]
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(b"through the tunnel")
        got = b""
        while len(got) < len(b"through the tunnel"):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    assert got == b"through the tunnel", got
    assert tunnel.wait() == 0, tunnel.stderr_text()


def test_atls_connect_refuses_measurement_mismatch(work, procs):
    """A policy whose reference measurement differs refuses the server with its error name."""
    server, policy = start_software_server(work, procs)
    with open(policy) as f:
        doc = json.load(f)
    doc["schemes"]["application/eat+cwt"]["reference"] = {"measurements": {"executable": "00" * 32}}
    bad = work.write_json("tampered-policy.json", doc)
    client = AtlsClient(server.port, ["--policy", bad, "--ca", work.cert, "--servername", "localhost"])
    procs.append(client)
    client.write(b"must not arrive\n")
    client.close_stdin()
    rc = client.wait()
    text = client.stderr_text()
    assert rc != 0, text
    errors = [e for e in client.json_events() if e.get("event") == "error"]
    assert errors and errors[0]["error"] in ("MeasurementMismatch", "TierInsufficient"), text


def test_mutual_software(work, procs):
    """Mutual: the server requires client attestation; a pinned software client gets through."""
    ckey = work.path("client-key.pem")
    cpub = work.path("client-pub.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", ckey], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", ckey, "-pubout", "-out", cpub], check=True, capture_output=True)
    client_policy = work.write_json("mutual-client-policy.json", {
        "required_tier": "warning",
        "schemes": {"application/eat+cwt": {"trust": {"keys": [cpub]}}}})
    server, policy = start_software_server(work, procs, ["--require-client-attestation",
                                                         "--policy", client_policy])
    client = AtlsClient(server.port, ["--policy", policy, "--ca", work.cert, "--servername", "localhost",
                                      "--attester", "software", "--attester-key", ckey])
    procs.append(client)
    client.write(b"mutual hello\n")
    assert client.wait_stdout(b"mutual hello"), client.stderr_text() + server.stderr_text()
    client.close_stdin()
    assert client.wait() == 0, client.stderr_text()
    event = server.wait_event(lambda e: e.get("event") == "connection")
    assert event["result"] == "ok", event
    assert event["peer_attestation"]["media_type"] == "application/eat+cwt", event

    # A client that does not attest is refused, with the reason named.
    plain = AtlsClient(server.port, ["--policy", policy, "--ca", work.cert, "--servername", "localhost"])
    procs.append(plain)
    plain.write(b"no attestation\n")
    plain.close_stdin()
    rc = plain.wait()
    assert rc != 0, plain.stderr_text()
    assert "AttestationRequired" in plain.stderr_text() or "attestation_required" in plain.stderr_text(), \
        plain.stderr_text()


def test_serve_stops_on_sigterm(work, procs):
    """SIGTERM stops `atls serve` cleanly (exit 0, a final "stopped" line)."""
    server, _ = start_software_server(work, procs)
    server.p.terminate()
    rc = server.wait()
    assert rc == 0, f"exit {rc}: {server.stderr_text()}"
    server.wait_event(lambda e: e.get("event") == "stopped", timeout=5)


def test_demo_runs_and_cleans_up(work, procs):
    """`atls demo` (what `make demo` runs) passes every scenario and leaves no swtpm or
    Verifier service behind."""
    if shutil.which("swtpm") is None:
        print("  (swtpm not installed: demo not run)")
        return
    r = subprocess.run([ATLS, "demo"], capture_output=True, timeout=120)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    assert r.returncode == 0, out + err
    assert "All 7 scenarios behaved as expected." in out, out
    assert "REFUSED: MeasurementMismatch" in out, out
    assert "Server attestation, remote background-check" in out, out
    assert "Server attestation, remote passport" in out, out
    for name in ("swtpm", "atls verifier"):
        pid = None
        for line in err.splitlines():
            if f"{name} pid" in line:
                pid = int(line.split(f"{name} pid")[1].split(",")[0])
        assert pid is not None, err
        assert not os.path.exists(f"/proc/{pid}"), f"{name} {pid} still running"


TESTS = [
    test_openssl_client_to_atls_serve,
    test_atls_connect_to_openssl_server_requires_attestation,
    test_atls_connect_optional_falls_back_to_plain_tls,
    test_atls_serve_connect_software,
    test_atls_serve_as_sidecar,
    test_atls_connect_tunnel,
    test_atls_connect_refuses_measurement_mismatch,
    test_mutual_software,
    test_serve_stops_on_sigterm,
    test_demo_runs_and_cleans_up,
]


def main() -> int:
    if not os.path.exists(ATLS):
        print(f"atls not built at {ATLS}")
        return 1
    passed = failed = 0
    work = Work()
    try:
        for test in TESTS:
            procs = []
            try:
                test(work, procs)
                passed += 1
                print(f"ok   {test.__name__}")
            except Exception:  # report and continue with the next case
                failed += 1
                print(f"FAIL {test.__name__}")
                traceback.print_exc()
            finally:
                for p in procs:
                    p.kill()
    finally:
        work.cleanup()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
