"""Helpers shared by the Python tests in this folder (imported as a sibling
module: each test runs as a script, so its folder is on sys.path). Not a
test itself (ctest registers test_*.py only)."""

import os
import socket
import sys
import unittest


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
