#!/usr/bin/python3
"""Half-close through the sidecar pair (`atls connect --listen` ->
`atls serve --backend`): a backend that reads until EOF and only then
answers (like `wc -c`) gets the client's end and its answer comes back; and
`atls connect` on standard input ends as soon as the server has answered,
not after --linger-ms (set to ten minutes here, so a tunnel that waited for
it would run into the 60 s limit of each step and fail).

Prints "N passed, M failed" and exits non-zero on any failure.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from interop_util import free_port, run_unittest_main

SOURCE = os.environ.get("ATLS_SOURCE_DIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("ATLS_BUILD_DIR", os.path.join(SOURCE, "build"))
ATLS = os.path.join(BUILD, "tools", "atls")
LINGER_MS = "600000"



def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


class CountingBackend:
    """Reads each connection to EOF, then answers with the byte count."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    @staticmethod
    def serve(c):
        n = 0
        while True:
            d = c.recv(65536)
            if not d:
                break
            n += len(d)
        c.sendall(f"{n}\n".encode())
        c.close()


class TestTunnel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="atls_tunnel_")
        cls.backend = CountingBackend()
        cls.policy = os.path.join(cls.tmp, "rp.json")
        cls.port = free_port()
        cls.server = subprocess.Popen(
            [ATLS, "serve", "--listen", f"127.0.0.1:{cls.port}", "--attester", "software",
             "--backend", f"127.0.0.1:{cls.backend.port}", "--policy-out", cls.policy],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=10)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_backend_that_answers_after_eof(self):
        local = free_port()
        client = subprocess.Popen(
            [ATLS, "connect", f"127.0.0.1:{self.port}", "--attestation-only-identity", "--policy",
             self.policy, "--quiet", "--linger-ms", LINGER_MS, "--listen", f"127.0.0.1:{local}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(local)
            for size in (0, 1024, 300000):
                with socket.create_connection(("127.0.0.1", local), timeout=60) as s:
                    s.sendall(os.urandom(size))
                    s.shutdown(socket.SHUT_WR)
                    got = b""
                    while True:
                        b = s.recv(4096)
                        if not b:
                            break
                        got += b
                self.assertEqual(got, f"{size}\n".encode())
        finally:
            client.terminate()
            client.wait(timeout=10)

    def test_stdin_client_ends_with_the_answer(self):
        data = os.urandom(5000)
        r = subprocess.run(
            [ATLS, "connect", f"127.0.0.1:{self.port}", "--attestation-only-identity", "--policy",
             self.policy, "--quiet", "--linger-ms", LINGER_MS],
            input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"5000\n")



if __name__ == "__main__":
    sys.exit(run_unittest_main(__name__, ATLS))
