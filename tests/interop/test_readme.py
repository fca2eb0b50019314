"""The README stays true: it quotes the examples exactly as they are built in
CI, names the two commands, and every file it links exists."""

import os
import re
import sys

SRC = os.environ.get("ATLS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    failures = []
    passed = 0
    readme = open(os.path.join(SRC, "README.md"), encoding="utf-8").read()
    blocks = re.findall(r"```cpp\n(.*?)```", readme, re.S)
    for name in ("client", "server"):
        source = open(os.path.join(SRC, "examples", name + ".cc"), encoding="utf-8").read()
        if source in blocks:
            passed += 1
        else:
            failures.append(f"README does not quote examples/{name}.cc exactly")
    for command in ("make demo", "make test"):
        if command in readme:
            passed += 1
        else:
            failures.append(f"README does not show '{command}'")
    for link in re.findall(r"\]\(([^)#]+)\)", readme):
        if link.startswith("http"):
            continue
        if os.path.exists(os.path.join(SRC, link)):
            passed += 1
        else:
            failures.append(f"README links a missing file: {link}")
    for f in failures:
        print("FAIL:", f)
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
