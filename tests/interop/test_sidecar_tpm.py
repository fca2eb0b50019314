#!/usr/bin/python3
"""The TPM goes away under a running `atls serve --attester tpm2` and comes
back, without a restart of serve:

  - a private swtpm, and `atls serve --attester tpm2 --tcti swtpm:... --json
    --policy-out F` in echo mode;
  - a long-lived `atls connect` session, established and echoing data;
  - swtpm killed (SIGKILL): a new `atls connect` fails (promptly, not after
    the handshake timeout) and serve's connection line names TpmUnavailable;
    the established sessions still echo, including one that asks for fresh
    attestation every 500 ms (serve holds that request until the TPM is
    back instead of ending the connection; the client's last appraisal
    stays valid until it expires);
  - swtpm started again on the same port with the same state: new
    `atls connect` sessions succeed again, appraised against the same
    policy file (the same AK), by the same serve process.

Prints "N passed, M failed" and exits non-zero on any failure.
"""

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from interop_util import Swtpm, run_unittest_main

SOURCE = os.environ.get("ATLS_SOURCE_DIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("ATLS_BUILD_DIR", os.path.join(SOURCE, "build"))
ATLS = os.path.join(BUILD, "tools", "atls")


class JsonLog:
    """Collects the JSON lines a child writes on stderr (other lines, such as
    tpm2-tss's own log messages, are kept apart)."""

    def __init__(self, stream):
        self.events = []
        self.other = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").strip()
            with self.cond:
                try:
                    self.events.append(json.loads(line))
                except ValueError:
                    self.other.append(line)
                self.cond.notify_all()

    def wait_for(self, pred, timeout, start=0):
        """The first event from index |start| on that satisfies |pred|, or None."""
        end = time.time() + timeout
        with self.cond:
            while True:
                for e in self.events[start:]:
                    if pred(e):
                        return e
                left = end - time.time()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def count(self):
        with self.cond:
            return len(self.events)


class Session:
    """A long-lived `atls connect` with its stdin and stdout as pipes."""

    def __init__(self, port, policy, *extra):
        self.proc = subprocess.Popen(
            [ATLS, "connect", f"127.0.0.1:{port}", "--attestation-only-identity", "--policy",
             policy, "--quiet", *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)

    def echo(self, data, timeout=20):
        """Writes |data| and returns what comes back within |timeout| (up to len(data))."""
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        got = b""
        end = time.time() + timeout
        fd = self.proc.stdout.fileno()
        while len(got) < len(data) and time.time() < end:
            ready, _, _ = select.select([fd], [], [], max(0.0, end - time.time()))
            if not ready:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            got += chunk
        return got

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()


def one_shot(port, policy, data):
    """A short `atls connect`: sends |data|, returns (exit code, stdout, stderr, seconds)."""
    t0 = time.time()
    r = subprocess.run(
        [ATLS, "connect", f"127.0.0.1:{port}", "--attestation-only-identity", "--policy", policy,
         "--quiet", "--json"],
        input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace"), time.time() - t0


class TestTpmGoesAway(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="atls_sidecar_tpm_")
        self.policy = os.path.join(self.tmp, "rp.json")
        self.tpm = Swtpm().start()
        self.serve = subprocess.Popen(
            [ATLS, "serve", "--listen", "127.0.0.1:0", "--attester", "tpm2", "--tcti",
             self.tpm.tcti, "--json", "--policy-out", self.policy],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.log = JsonLog(self.serve.stderr)
        listening = self.log.wait_for(lambda e: e.get("event") == "listening", 30)
        if listening is None:
            self.tearDown()
            raise AssertionError("serve did not start listening")
        self.port = listening["port"]

    def tearDown(self):
        if self.serve.poll() is None:
            self.serve.terminate()
            try:
                self.serve.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.serve.kill()
                self.serve.wait()
        self.serve.stderr.close()
        self.tpm.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def connection_line(self, start, timeout=20):
        return self.log.wait_for(lambda e: e.get("event") == "connection", timeout, start)

    def test_attestation_fails_while_the_tpm_is_gone_and_recovers(self):
        session = Session(self.port, self.policy)
        # This one asks for fresh attestation every 500 ms: while the TPM is
        # gone, serve holds the request (the last appraisal stays valid until
        # it expires) instead of ending the connection.
        reattesting = Session(self.port, self.policy, "--reattest-ms", "500")
        try:
            self.assertEqual(session.echo(b"before the kill\n"), b"before the kill\n")
            self.assertEqual(reattesting.echo(b"before the kill\n"), b"before the kill\n")
            time.sleep(0.7)  # one re-attestation with the TPM present

            self.tpm.kill()
            mark = self.log.count()
            rc, out, err, secs = one_shot(self.port, self.policy, b"hello\n")
            self.assertNotEqual(rc, 0, err)
            self.assertEqual(out, b"")
            self.assertLess(secs, 10, "a dead TPM must not cost the handshake timeout")
            self.assertIn("TpmUnavailable", err)  # the alert's reason reaches the client
            line = self.connection_line(mark)
            self.assertIsNotNone(line, "no connection line in serve's log")
            self.assertEqual(line["result"], "TpmUnavailable", line)
            self.assertIn(self.tpm.tcti, line.get("detail", ""), line)

            # The established sessions are not affected, not even the one
            # whose re-attestations cannot be answered now.
            self.assertEqual(session.echo(b"while the TPM is gone\n"), b"while the TPM is gone\n")
            for _ in range(4):
                time.sleep(0.5)
                self.assertEqual(reattesting.echo(b"gone\n"), b"gone\n")
            self.assertIsNone(reattesting.proc.poll())

            # The TPM is back (same port, same state): new sessions succeed
            # with the same AK (the policy file written at start pins it),
            # once the attester's reconnect interval (1 s) has passed.
            self.tpm.restart()
            deadline = time.time() + 15
            while True:
                mark = self.log.count()
                rc, out, err, _ = one_shot(self.port, self.policy, b"after the restart\n")
                if rc == 0 or time.time() > deadline:
                    break
                line = self.connection_line(mark)
                self.assertIsNotNone(line, "no connection line in serve's log")
                self.assertEqual(line["result"], "TpmUnavailable", line)
                time.sleep(0.3)
            self.assertEqual(rc, 0, err)
            self.assertEqual(out, b"after the restart\n")
            line = self.connection_line(mark)
            self.assertIsNotNone(line, "no connection line in serve's log")
            self.assertEqual(line["result"], "ok", line)

            self.assertEqual(session.echo(b"after the restart\n"), b"after the restart\n")
            time.sleep(1.5)  # the held re-attestation is answered now
            self.assertEqual(reattesting.echo(b"after the restart\n"), b"after the restart\n")
            self.assertIsNone(reattesting.proc.poll())
            self.assertIsNone(self.serve.poll(), "serve exited")
        finally:
            session.close()
            reattesting.close()


if __name__ == "__main__":
    sys.exit(run_unittest_main(__name__, ATLS))
