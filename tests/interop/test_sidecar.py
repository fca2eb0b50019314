#!/usr/bin/python3
"""The sidecar pair under load and faults (docs/sidecar.md):

  Python clients -> atls connect --listen -> attested TLS -> atls serve --backend -> echo backend

Groups (one ctest entry each; no argument runs all):
  load    20,000 1 KiB echoes at concurrency 1, 16, 64 and 256 with zero errors; RSS and
          open fds of both atls processes after the first 1,000 and after the last.
  faults  2,000 idle sockets do not delay a real client; --max-handshakes keeps the rest in
          the backlog; a backend that is down gives a clean close and "BackendUnavailable";
          300 peers that reset mid-attestation leave nothing.
  ops     SIGTERM drain, SIGHUP reload (good, rejecting and broken policies), /metrics.

Each sidecar is started on port 0 and its ports are read from its JSON "listening" line.
Prints "N passed, M failed" and exits non-zero on any failure.
"""

import asyncio
import collections
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import sys
import tempfile
import time
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from interop_util import free_port, run_unittest_main
from sidecar_util import (ATLS, AtlsProcess, EchoBackend, fetch_metrics, parse_metrics, raise_fd_limit,
                          start_connect, start_serve, stdin_client, wait_until, within)

KIB = 1024
MAX_ERRORS = 50  # the load test stops early past this many failed echoes


def fd_bound(before):
    """Open fds must come back within 10 % or 5, whichever is larger: an idle
    sidecar holds a few tens of fds (listeners, epoll, timers, workers), so
    10 % is less than one fd, and a lazily opened file (e.g. /dev/urandom)
    must not fail the test; a leak of one fd per connection would show as
    hundreds or thousands."""
    return max(0.10 * before, 5)


class SidecarCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="atls_sidecar_")
        self.procs = []
        self.backends = []

    def tearDown(self):
        for p in self.procs:
            p.stop()
        for b in self.backends:
            b.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def backend(self):
        b = EchoBackend()
        self.backends.append(b)
        return b

    def serve(self, extra=(), backend_port=None, name="serve"):
        p = start_serve(self.tmp, extra, backend_port, name)
        self.procs.append(p)
        return p

    def connect(self, serve, extra=()):
        p = start_connect(serve, extra)
        self.procs.append(p)
        return p

    def pair(self, serve_extra=(), connect_extra=()):
        b = self.backend()
        s = self.serve(serve_extra, b.port)
        return b, s, self.connect(s, connect_extra)

    def write_key(self, name):
        """A P-256 key pair for a software attester: (private PEM path, public PEM text)."""
        key = ec.generate_private_key(ec.SECP256R1())
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        return path, pub.decode()

    @staticmethod
    def write_policy(path, pub_pem):
        doc = {"required_tier": "warning",
               "schemes": {"application/eat+cwt": {"trust": {"keys": [pub_pem]}}}}
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f)
        os.replace(path + ".tmp", path)

    def echo_once(self, port, data, timeout=30):
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(data)
            got = b""
            while len(got) < len(data):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        self.assertEqual(got, data)

    def refused_or_closed_at_once(self, port):
        """A new TCP connection is refused, or closed (EOF or reset) within 2 s."""
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
        except ConnectionRefusedError:
            return "refused"
        with s:
            try:
                return "closed" if s.recv(1) == b"" else "data"
            except ConnectionResetError:
                return "reset"
            except socket.timeout:
                return "held open"


# ---------------------------------------------------------------------------------------------
# load


async def _one_echo(port, payload, timeout):
    async def run():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(payload)
            await writer.drain()
            got = await reader.readexactly(len(payload))
        finally:
            writer.close()
            await writer.wait_closed()
        if got != payload:
            raise AssertionError("echo differs")
    await asyncio.wait_for(run(), timeout)


async def _echo_batch(port, count, concurrency, errors, timeout=60):
    left = count

    async def worker():
        nonlocal left
        while left > 0 and len(errors) < MAX_ERRORS:
            left -= 1
            try:
                await _one_echo(port, os.urandom(KIB), timeout)
            except Exception as e:  # noqa: BLE001 - every failure counts as an error
                errors.append(repr(e))

    await asyncio.gather(*(worker() for _ in range(concurrency)))


class LoadTest(SidecarCase):
    PHASES = ((1, 5000), (16, 5000), (64, 5000), (256, 5000))
    FIRST = 1000

    def measure(self, serve, connect, done, label):
        """RSS and fds of both processes once serve has logged |done| connections."""
        serve.wait_connections(done, 60)
        out = {}
        for name, p in (("serve", serve), ("connect", connect)):
            fds = p.settle()
            out[name] = (p.rss_kib(), fds)
            print(f"  after {label}: {name} RSS {out[name][0]} KiB, {fds} fds", flush=True)
        return out

    def test_20000_echoes(self):
        backend, serve, connect = self.pair()
        errors, total = [], 0
        first = None
        for concurrency, count in self.PHASES:
            parts = [self.FIRST, count - self.FIRST] if total == 0 else [count]
            elapsed = 0.0
            for part in parts:
                t0 = time.monotonic()
                asyncio.run(_echo_batch(connect.port, part, concurrency, errors))
                elapsed += time.monotonic() - t0
                total += part
                if first is None:
                    first = self.measure(serve, connect, total, f"the first {total}")
            rate = count / elapsed
            print(f"  concurrency {concurrency}: {count} connections, {rate:.0f}/s, "
                  f"{len(errors)} errors so far", flush=True)
            if len(errors) >= MAX_ERRORS:
                break
        self.assertEqual(len(errors), 0, f"{len(errors)} errors, e.g. {errors[:3]}")
        last = self.measure(serve, connect, total, f"all {total}")
        results = collections.Counter(e.get("result") for e in serve.connections())
        self.assertEqual(results, {"ok": total}, "serve's connection results")
        self.assertEqual(backend.accepted, total)
        for name in ("serve", "connect"):
            (rss0, fds0), (rss1, fds1) = first[name], last[name]
            self.assertTrue(within(rss0, rss1, 0.10), f"{name} RSS {rss0} -> {rss1} KiB")
            self.assertTrue(abs(fds1 - fds0) <= fd_bound(fds0), f"{name} fds {fds0} -> {fds1}")


# ---------------------------------------------------------------------------------------------
# faults


class SlowClientTest(SidecarCase):
    IDLE = 2000

    def test_idle_sockets_do_not_delay_a_real_client(self):
        # The idle sockets must still be in their handshake when the real client runs.
        serve = self.serve(["--handshake-timeout-ms", "120000"])
        times = []
        for _ in range(3):
            rc, out, err, seconds = stdin_client(serve, b"baseline\n")
            self.assertEqual((rc, out), (0, b"baseline\n"), err)
            times.append(seconds)
        baseline = sorted(times)[1]
        fds0 = serve.settle()
        idle = []
        try:
            for _ in range(self.IDLE):
                idle.append(socket.create_connection(("127.0.0.1", serve.port), timeout=10))
            # serve has accepted them (else this would not test the event loop).
            self.assertTrue(wait_until(lambda: serve.fds() >= fds0 + 0.9 * self.IDLE, 20),
                            f"serve holds {serve.fds()} fds, started with {fds0}")
            rc, out, err, seconds = stdin_client(serve, b"attested\n")
            print(f"  real client: baseline {baseline * 1000:.0f} ms, with {self.IDLE} idle "
                  f"sockets {seconds * 1000:.0f} ms", flush=True)
            self.assertEqual((rc, out), (0, b"attested\n"), err)
            self.assertLess(seconds, baseline + 2.0)
        finally:
            for s in idle:
                s.close()
        serve.wait_connections(3 + 1 + self.IDLE, 60)
        fds1 = serve.settle()
        print(f"  serve fds: {fds0} before, {fds1} after the idle sockets closed", flush=True)
        self.assertLessEqual(abs(fds1 - fds0), fd_bound(fds0))


class HandshakeCapTest(SidecarCase):
    CAP = 4

    def test_handshakes_beyond_the_cap_wait_in_the_backlog(self):
        # --max-handshakes: connections still in their handshake are capped;
        # one more waits in the listen backlog (not accepted, not refused)
        # until a slot frees, here when the idle ones reach their deadline.
        serve = self.serve(["--max-handshakes", str(self.CAP), "--handshake-timeout-ms", "1500"])
        idle = [socket.create_connection(("127.0.0.1", serve.port), timeout=10)
                for _ in range(self.CAP)]
        try:
            rc, out, err, _ = stdin_client(serve, b"after the cap\n")
            self.assertEqual((rc, out), (0, b"after the cap\n"), err)
        finally:
            for s in idle:
                s.close()
        lines = serve.wait_connections(self.CAP + 1, 30)
        # The idle ones ended at their deadline before the real client was
        # even accepted: its line comes last.
        results = [line["result"] for line in lines]
        self.assertEqual(results[-1], "ok", results)
        for r in results[:self.CAP]:
            self.assertIn(r, ("HandshakeTimeout", "AttestationTimeout"), results)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class NoSpinTest(SidecarCase):
    """Conditions that leave a socket readable while the sidecar cannot act on
    it must not make its loop spin (which would starve every connection)."""

    def test_out_of_descriptors_is_said_once_and_waits(self):
        policy = os.path.join(self.tmp, "policy.json")
        serve = AtlsProcess(["prlimit", "--nofile=40:40", "--", ATLS, "serve", "--attester",
                             "software", "--listen", "127.0.0.1:0", "--json", "--policy-out",
                             policy, "--handshake-timeout-ms", "5000"])
        self.procs.append(serve)
        serve.port = serve.event_named("listening")["port"]
        socks = []
        try:
            for _ in range(60):
                socks.append(socket.create_connection(("127.0.0.1", serve.port), timeout=10))
            serve.event_named("refused", 10)
            c0 = cpu_seconds(serve.pid)
            time.sleep(1.5)
            used = cpu_seconds(serve.pid) - c0
            refused = [e for e in serve.events if e.get("event") == "refused"]
            print(f"  out of descriptors: {len(refused)} refused line(s), {used:.2f} CPU s in 1.5 s",
                  flush=True)
            self.assertEqual(len(refused), 1, refused[:3])
            self.assertLess(used, 0.75, "the loop spins on a listener it cannot accept from")
        finally:
            for s in socks:
                s.close()

    def test_unattested_data_at_the_cap_waits(self):
        # A TLS client that never attests streams DATA at a serve that
        # requires client attestation: serve holds its cap, then stops
        # reading and waits (the peer's deadline ends it), without spinning.
        ckey, cpub = self.write_key("client-key.pem")
        cpolicy = os.path.join(self.tmp, "client-policy.json")
        self.write_policy(cpolicy, cpub)
        serve = self.serve(["--require-client-attestation", "--policy", cpolicy,
                            "--handshake-timeout-ms", "4000"])
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        s = socket.create_connection(("127.0.0.1", serve.port), timeout=10)
        tls = ctx.wrap_socket(s)
        tls.settimeout(0.2)
        frame = b"\x03" + struct.pack(">I", 16384)[1:] + b"d" * 16384
        tls.sendall(b"ATLS\x01")
        sent = 0
        try:
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                try:
                    tls.sendall(frame)
                    sent += len(frame)
                except (socket.timeout, ssl.SSLWantWriteError):
                    break
            c0 = cpu_seconds(serve.pid)
            time.sleep(1.5)
            used = cpu_seconds(serve.pid) - c0
            print(f"  unattested DATA: {sent} bytes sent, serve {used:.2f} CPU s in 1.5 s",
                  flush=True)
            self.assertLess(used, 0.75, "the loop spins on a peer whose data it holds at the cap")
        finally:
            tls.close()
        line = serve.wait_connections(1, 15)[0]
        self.assertIn(line["result"], ("AttestationTimeout", "AttestationRequired"), line)


class ReattestScopeTest(SidecarCase):
    def test_reattest_ms_without_client_attestation_is_harmless(self):
        # --reattest-ms asks attesting clients again; a connection whose client
        # was not asked to attest is not ended by it.
        b, serve, connect = self.pair(serve_extra=["--reattest-ms", "200"],
                                      connect_extra=["--reattest-ms", "200"])
        with socket.create_connection(("127.0.0.1", connect.port), timeout=30) as s:
            s.sendall(b"before")
            self.assertEqual(s.recv(100), b"before")
            time.sleep(0.8)
            s.sendall(b"after")
            self.assertEqual(s.recv(100), b"after")
        line = serve.wait_connections(1, 15)[0]
        self.assertEqual(line["result"], "ok", line)


class BackendDownTest(SidecarCase):
    def test_clean_close_and_backend_unavailable(self):
        serve = self.serve(["--backend-timeout-ms", "2000"], backend_port=free_port())
        connect = self.connect(serve)
        for request in (b"", b"x" * KIB):
            with socket.create_connection(("127.0.0.1", connect.port), timeout=30) as s:
                if request:
                    s.sendall(request)
                try:
                    first = s.recv(65536)
                except ConnectionResetError:
                    self.fail(f"reset instead of a clean close (request of {len(request)} bytes)")
                self.assertEqual(first, b"", "EOF, not data")
        lines = serve.wait_connections(2, 30)
        for line in lines:
            self.assertEqual(line["result"], "BackendUnavailable", line)


class PeerResetTest(SidecarCase):
    RESETS = 300

    def test_resets_mid_attestation_leave_nothing(self):
        ckey, cpub = self.write_key("client-key.pem")
        cpolicy = os.path.join(self.tmp, "client-policy.json")
        self.write_policy(cpolicy, cpub)
        serve = self.serve(["--require-client-attestation", "--policy", cpolicy])
        real = ["--attester", "software", "--attester-key", ckey]
        rc, out, err, _ = stdin_client(serve, b"warm-up\n", real)
        self.assertEqual((rc, out), (0, b"warm-up\n"), err)
        serve.wait_connections(1, 10)
        fds0, rss0 = serve.settle(), serve.rss_kib()

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        mark = serve.mark()
        for i in range(self.RESETS):
            s = socket.create_connection(("127.0.0.1", serve.port), timeout=10)
            tls = ctx.wrap_socket(s)  # the TLS handshake completes; serve waits for attestation
            time.sleep((i % 4) * 0.005)
            tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            tls.close()
        lines = serve.wait_connections(self.RESETS, 60, mark)
        results = collections.Counter(e["result"] for e in lines)
        print(f"  serve results of the resets: {dict(results)}", flush=True)
        self.assertNotIn("ok", results)
        fds1, rss1 = serve.settle(), serve.rss_kib()
        print(f"  serve: {fds0} -> {fds1} fds, RSS {rss0} -> {rss1} KiB", flush=True)
        self.assertLessEqual(abs(fds1 - fds0), fd_bound(fds0))
        self.assertTrue(within(rss0, rss1, 0.10), f"RSS {rss0} -> {rss1} KiB")
        rc, out, err, _ = stdin_client(serve, b"still works\n", real)
        self.assertEqual((rc, out), (0, b"still works\n"), err)


# ---------------------------------------------------------------------------------------------
# ops


class DrainTest(SidecarCase):
    def test_sigterm_lets_the_open_connection_finish(self):
        _, serve, connect = self.pair()
        with socket.create_connection(("127.0.0.1", connect.port), timeout=30) as a:
            half = os.urandom(512)
            a.sendall(half)
            got = b""
            while len(got) < len(half):
                got += a.recv(65536)
            self.assertEqual(got, half)
            serve.signal(signal.SIGTERM)
            draining = serve.event_named("draining", 10)
            self.assertEqual(draining["open"], 1, draining)
            self.assertEqual(draining["deadline_ms"], 30000, draining)
            self.assertIn(self.refused_or_closed_at_once(serve.port), ("refused", "closed", "reset"))
            rest = os.urandom(512)
            a.sendall(rest)
            got = b""
            while len(got) < len(rest):
                chunk = a.recv(65536)
                self.assertNotEqual(chunk, b"", "the draining server closed an open connection")
                got += chunk
            self.assertEqual(got, rest)
        self.assertEqual(serve.wait(15), 0, serve.log_tail())
        stopped = serve.event_named("stopped", 1)
        self.assertEqual(stopped["connections"], 1, stopped)
        self.assertEqual([e["result"] for e in serve.connections()], ["ok"])

    def test_drain_deadline_closes_a_connection_that_stays(self):
        _, serve, connect = self.pair(["--drain-timeout-ms", "500"])
        with socket.create_connection(("127.0.0.1", connect.port), timeout=30) as b:
            b.sendall(b"stay")
            self.assertEqual(b.recv(64), b"stay")
            serve.signal(signal.SIGTERM)
            t0 = time.monotonic()
            self.assertEqual(serve.event_named("draining", 10)["deadline_ms"], 500)
            b.settimeout(15)
            try:
                self.assertEqual(b.recv(64), b"")
            except ConnectionResetError:
                pass
            closed_after = time.monotonic() - t0
        print(f"  the open connection was closed {closed_after * 1000:.0f} ms after SIGTERM")
        self.assertGreaterEqual(closed_after, 0.3)
        self.assertLess(closed_after, 10)
        self.assertEqual(serve.wait(15), 0, serve.log_tail())
        serve.event_named("stopped", 1)


class ReloadTest(SidecarCase):
    def test_sighup_reloads_the_policy(self):
        k1, pub1 = self.write_key("k1.pem")
        _, pub2 = self.write_key("k2.pem")
        policy = os.path.join(self.tmp, "clients.json")
        self.write_policy(policy, pub1)
        serve = self.serve(["--require-client-attestation", "--policy", policy])
        connect = self.connect(serve, ["--attester", "software", "--attester-key", k1])

        def reload():
            mark = serve.mark()
            serve.signal(signal.SIGHUP)
            return serve.wait_event(lambda e: e.get("event") in ("reloaded", "reload_failed"),
                                    15, mark)

        def new_client_refused(name):
            mark = serve.mark()
            with socket.create_connection(("127.0.0.1", connect.port), timeout=30) as s:
                s.sendall(b"must not come back")
                try:
                    self.assertEqual(s.recv(64), b"")
                except ConnectionResetError:
                    pass
            line = serve.wait_connections(1, 30, mark)[0]
            self.assertEqual(line["result"], name, line)

        def broken(text, error):
            with open(policy, "w") as f:
                f.write(text)
            event = reload()
            self.assertEqual(event["event"], "reload_failed", event)
            self.assertEqual(event["error"], error, event)
            self.assertTrue(event.get("detail"), event)

        with socket.create_connection(("127.0.0.1", connect.port), timeout=30) as a:
            a.sendall(b"before")
            self.assertEqual(a.recv(64), b"before")
            # A broken file is refused; the policy in force still admits the client.
            broken('{"required_tier": ', "JsonMalformed")
            self.echo_once(connect.port, b"old policy")
            # A policy that trusts another key: new clients are refused, A goes on.
            self.write_policy(policy, pub2)
            event = reload()
            self.assertEqual(event["event"], "reloaded", event)
            generation = event["generation"]
            new_client_refused("KeyUntrusted")
            a.sendall(b"after")
            self.assertEqual(a.recv(64), b"after")
            # Another bad file: the rejecting policy stays in force.
            broken('{"required_tier": "excellent"}', "PolicyInvalid")
            new_client_refused("KeyUntrusted")
            a.sendall(b"still")
            self.assertEqual(a.recv(64), b"still")
        # Back to the first policy.
        self.write_policy(policy, pub1)
        event = reload()
        self.assertEqual((event["event"], event["generation"]), ("reloaded", generation + 1), event)
        self.echo_once(connect.port, b"admitted again")
        # connect reloads too (its policy and attester).
        mark = connect.mark()
        connect.signal(signal.SIGHUP)
        connect.wait_event(lambda e: e.get("event") == "reloaded", 15, mark)
        self.echo_once(connect.port, b"after the client's reload")


class MetricsTest(SidecarCase):
    CLIENTS = 8
    NAMES = ("atls_sidecar_connections_total", "atls_sidecar_connections_open",
             "atls_sidecar_handshakes_in_progress", "atls_sidecar_attestations_total",
             "atls_sidecar_handshake_seconds", "atls_sidecar_attestation_seconds",
             "atls_sidecar_bytes_total", "atls_sidecar_reloads_total")

    def metrics(self, proc):
        status, ctype, text = fetch_metrics(proc.metrics_port)
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain"), ctype)
        samples, types = parse_metrics(text)
        for name in self.NAMES:
            self.assertIn(name, types, f"# TYPE of {name}")
        self.assertEqual(types["atls_sidecar_handshake_seconds"], "histogram")
        self.assertEqual(types["atls_sidecar_connections_total"], "counter")
        self.assertEqual(types["atls_sidecar_connections_open"], "gauge")
        return samples

    @staticmethod
    def value(samples, name, **labels):
        return samples.get((name, frozenset(labels.items())))

    def test_metrics_of_both_sides(self):
        m = ["--metrics", "127.0.0.1:0"]
        _, serve, connect = self.pair(m, m)
        for p in (serve, connect):
            p.metrics_port = p.event_named("metrics")["port"]
        for i in range(self.CLIENTS):
            self.echo_once(connect.port, os.urandom(KIB))
        serve.wait_connections(self.CLIENTS, 30)
        n = float(self.CLIENTS)
        self.assertTrue(wait_until(lambda: self.value(
            self.metrics(connect), "atls_sidecar_connections_total", result="ok") == n, 10),
            "connect's connections_total{result=\"ok\"}")
        for proc in (serve, connect):
            s = self.metrics(proc)
            v = lambda name, **l: self.value(s, name, **l)  # noqa: E731
            self.assertEqual(v("atls_sidecar_connections_total", result="ok"), n)
            self.assertEqual(v("atls_sidecar_connections_open"), 0)
            self.assertEqual(v("atls_sidecar_handshakes_in_progress"), 0)
            self.assertEqual(v("atls_sidecar_handshake_seconds_count"), n)
            self.assertEqual(v("atls_sidecar_handshake_seconds_bucket", le="+Inf"), n)
            self.assertGreater(v("atls_sidecar_handshake_seconds_sum"), 0)
            self.assertIsNotNone(v("atls_sidecar_attestation_seconds_count"))
            for direction in ("from_peer", "to_peer"):
                self.assertGreaterEqual(v("atls_sidecar_bytes_total", direction=direction), n * KIB)
        # connect appraised the server once per connection.
        s = self.metrics(connect)
        self.assertEqual(self.value(s, "atls_sidecar_attestations_total", outcome="ok"), n)
        self.assertGreaterEqual(self.value(s, "atls_sidecar_attestation_seconds_count"), n)
        # A reload is counted.
        mark = serve.mark()
        serve.signal(signal.SIGHUP)
        serve.wait_event(lambda e: e.get("event") == "reloaded", 15, mark)
        s = self.metrics(serve)
        self.assertEqual(self.value(s, "atls_sidecar_reloads_total", result="ok"), 1)


GROUPS = {
    "load": [LoadTest],
    "faults": [SlowClientTest, HandshakeCapTest, NoSpinTest, BackendDownTest, PeerResetTest],
    "ops": [DrainTest, ReloadTest, MetricsTest, ReattestScopeTest],
}


if __name__ == "__main__":
    raise_fd_limit()
    group = sys.argv[1] if len(sys.argv) > 1 else None
    if group is not None and group not in GROUPS:
        print(f"usage: {sys.argv[0]} [{'|'.join(GROUPS)}]")
        sys.exit(2)
    cases = GROUPS[group] if group else [c for g in GROUPS.values() for c in g]
    sys.exit(run_unittest_main(__name__, ATLS, cases))
