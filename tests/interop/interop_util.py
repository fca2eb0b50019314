"""Helpers shared by the Python tests in this folder (imported as a sibling
module: each test runs as a script, so its folder is on sys.path). Not a
test itself (ctest registers test_*.py only)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _probe(port):
    """Binds 127.0.0.1:|port| as a listener would (SO_REUSEADDR, so that
    connections of earlier tests in TIME_WAIT do not count as users)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return s.getsockname()[1]


def free_port_pair():
    """A port P such that P and P+1 are free on 127.0.0.1."""
    for _ in range(50):
        port = _probe(0)
        if port >= 65535:
            continue
        try:
            _probe(port + 1)
            _probe(port)
        except OSError:
            continue
        return port
    raise RuntimeError("no free loopback port pair")


class Swtpm:
    """A private swtpm (TPM 2.0 simulator) on a free loopback port pair with
    its own state directory. start() picks the ports; kill() ends it with
    SIGKILL (as a crash would) and restart() brings it back on the same ports
    with the same state (persistent objects such as the AK survive)."""

    def __init__(self):
        self.swtpm = shutil.which("swtpm")
        if self.swtpm is None:
            raise AssertionError("swtpm is not installed (apt install swtpm swtpm-tools)")
        self.dir = tempfile.mkdtemp(prefix="atls_swtpm_")
        self.proc = None
        self.port = None

    def _spawn(self, port):
        self.proc = subprocess.Popen(
            [self.swtpm, "socket", "--tpm2",
             "--server", f"type=tcp,port={port},bindaddr=127.0.0.1",
             "--ctrl", f"type=tcp,port={port + 1},bindaddr=127.0.0.1",
             "--tpmstate", f"dir={self.dir}", "--flags", "not-need-init,startup-clear"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                self.port = port
                return True
            except OSError:
                time.sleep(0.05)
        self.stop()
        return False

    def start(self):
        for _ in range(5):
            if self._spawn(free_port_pair()):
                return self
            # lost the port race, or it died: try another pair
        raise AssertionError("swtpm did not start")

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        if not self._spawn(self.port):
            raise AssertionError(f"swtpm did not start again on port {self.port}")
        return self

    @property
    def tcti(self):
        return f"swtpm:host=127.0.0.1,port={self.port}"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_unittest_main(module_name, atls, cases=None):
    """Runs the unittest cases of |module_name| (or only the TestCase classes
    in |cases|) after checking that the atls command exists; prints
    "N passed, M failed[, K skipped]" and returns the exit code (non-zero on
    any failure or skip)."""
    if not os.path.exists(atls):
        print(f"{atls} not found (set ATLS_BUILD_DIR)")
        print("0 passed, 1 failed")
        return 1
    loader = unittest.defaultTestLoader
    if cases is None:
        suite = loader.loadTestsFromModule(sys.modules[module_name])
    else:
        suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in cases)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 0 if failed == 0 and skipped == 0 else 1
