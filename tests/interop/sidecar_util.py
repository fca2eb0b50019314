"""Helpers of test_sidecar.py (not a test itself): the atls processes of the
sidecar pair with their JSON log lines, an echo backend, /proc measurements
and Prometheus text parsing."""

import asyncio
import json
import os
import re
import resource
import signal
import subprocess
import threading
import time
import urllib.request

SOURCE = os.environ.get("ATLS_SOURCE_DIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("ATLS_BUILD_DIR", os.path.join(SOURCE, "build"))
ATLS = os.path.join(BUILD, "tools", "atls")


def raise_fd_limit():
    """The soft RLIMIT_NOFILE up to the hard one (children inherit it): the
    slow-client test holds 2,000 sockets, the load test hundreds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def wait_until(predicate, timeout, step=0.02):
    end = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(step)


class AtlsProcess:
    """An atls process whose stderr is read by a thread (so that a busy server
    never blocks on a full pipe); JSON lines are kept as events."""

    def __init__(self, args, stdin=subprocess.DEVNULL):
        self.args = args
        self.p = subprocess.Popen(args, stdin=stdin, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        self.pid = self.p.pid
        self.events = []
        self.other_lines = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.port = None

    def _read(self):
        for raw in self.p.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            with self.cond:
                if isinstance(event, dict):
                    self.events.append(event)
                else:
                    self.other_lines.append(line)
                self.cond.notify_all()

    def wait_event(self, predicate, timeout=15.0, start=0):
        """The first event at index >= start that satisfies predicate."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for e in self.events[start:]:
                    if predicate(e):
                        return e
                left = end - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and not self.reader.is_alive()):
                    raise AssertionError(f"no such event within {timeout} s; log:\n{self.log_tail()}")
                self.cond.wait(min(left, 0.2))

    def event_named(self, name, timeout=15.0, start=0):
        return self.wait_event(lambda e: e.get("event") == name, timeout, start)

    def mark(self):
        with self.cond:
            return len(self.events)

    def connections(self, start=0):
        with self.cond:
            return [e for e in self.events[start:] if e.get("event") == "connection"]

    def wait_connections(self, n, timeout, start=0):
        ok = wait_until(lambda: len(self.connections(start)) >= n, timeout)
        got = self.connections(start)
        if not ok:
            raise AssertionError(f"{len(got)} of {n} connection lines within {timeout} s; "
                                 f"log:\n{self.log_tail()}")
        return got

    def log_tail(self, n=15):
        with self.cond:
            lines = [json.dumps(e) for e in self.events[-n:]] + self.other_lines[-n:]
        return "\n".join(lines)

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def settle(self, timeout=5.0):
        """Waits until the open fd count has stayed the same for 0.3 s."""
        last, since = self.fds(), time.monotonic()
        end = since + timeout
        while time.monotonic() < end:
            time.sleep(0.05)
            now = self.fds()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= 0.3:
                break
        return last

    def signal(self, sig):
        self.p.send_signal(sig)

    def wait(self, timeout):
        rc = self.p.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return rc

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.reader.join(timeout=5)


def start_serve(tmp, extra=(), backend_port=None, name="serve"):
    """`atls serve --attester software --json --listen 127.0.0.1:0`; its port
    from the "listening" line, its client policy (--policy-out) in .policy."""
    policy = os.path.join(tmp, f"{name}-policy.json")
    args = [ATLS, "serve", "--attester", "software", "--listen", "127.0.0.1:0", "--json",
            "--policy-out", policy]
    if backend_port is not None:
        args += ["--backend", f"127.0.0.1:{backend_port}"]
    proc = AtlsProcess(args + list(extra))
    proc.port = proc.event_named("listening")["port"]
    proc.policy = policy
    return proc


def start_connect(serve, extra=()):
    """`atls connect --listen 127.0.0.1:0` in front of |serve|, trusting its key."""
    proc = AtlsProcess([ATLS, "connect", f"127.0.0.1:{serve.port}", "--listen", "127.0.0.1:0",
                        "--policy", serve.policy, "--attestation-only-identity", "--json",
                        "--quiet", *extra])
    proc.port = proc.event_named("listening")["port"]
    return proc


def stdin_client(serve, data, extra=(), timeout=60):
    """A real `atls connect` in stdin/stdout mode; returns (rc, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    r = subprocess.run([ATLS, "connect", f"127.0.0.1:{serve.port}", "--policy", serve.policy,
                        "--attestation-only-identity", "--quiet", *extra],
                       input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace"), time.monotonic() - t0


class EchoBackend:
    """A plain TCP echo service on its own asyncio loop and thread: echoes
    each chunk, closes after the client's EOF."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.accepted = 0
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024))
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)

    async def _handle(self, reader, writer):
        self.accepted += 1
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def close(self):
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def within(before, after, fraction, slack=0):
    """|after - before| <= max(fraction * before, slack)."""
    return abs(after - before) <= max(fraction * before, slack)


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format 0.0.4 -> {(name, frozenset(labels)): value}, and
    the names declared by # TYPE lines."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 4:
                types[parts[2]] = parts[3]
            continue
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise AssertionError(f"not a Prometheus sample line: {line!r}")
        labels = frozenset(_LABEL.findall(m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples, types


def fetch_metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()
