#!/usr/bin/env bash
# ctest format.clang_format: every tracked *.h and *.cc file must be
# clang-format-14 clean under the repository's .clang-format (`make format`
# fixes them). Skipped (exit 77) only when the source tree is not a git
# checkout, since the file list comes from git.
# Usage: tests/check_format.sh SOURCE_DIR
set -uo pipefail

src="${1:?usage: check_format.sh SOURCE_DIR}"
formatter="${CLANG_FORMAT:-clang-format-14}"

if ! command -v "$formatter" >/dev/null 2>&1; then
  echo "format: $formatter not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
if ! files=$(git -C "$src" ls-files -- '*.h' '*.cc' 2>/dev/null); then
  echo "format: SKIPPED: $src is not a git checkout, so there is no list of tracked files" >&2
  exit 77
fi
if [[ -z "$files" ]]; then
  echo "format: no tracked *.h or *.cc files under $src" >&2
  exit 1
fi

cd "$src" || exit 1
mapfile -t list <<<"$files"
# One run over every file; each violation is reported as FILE:LINE:COL: error.
report=$("$formatter" --dry-run -Werror --style=file "${list[@]}" 2>&1)
rc=$?
if ((rc != 0)); then
  bad=$(grep -oE '^[^:]+:[0-9]+:[0-9]+: error' <<<"$report" | cut -d: -f1 | sort -u)
  if [[ -z "$bad" ]]; then
    echo "$report" >&2
    echo "format: $formatter failed (status $rc)" >&2
    exit 1
  fi
  sed 's/^/format: not clang-format clean: /' <<<"$bad" >&2
  echo "format: $(wc -l <<<"$bad") of ${#list[@]} files need \`make format\` ($formatter -i)" >&2
  exit 1
fi
echo "format: ${#list[@]} files clean"
