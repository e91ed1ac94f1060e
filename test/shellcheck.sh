#!/usr/bin/env bash
# The lint gate's shell part: shellcheck at warning level over every shell script the project runs.
# Installs shellcheck as root when it is missing (Debian/Ubuntu), as the harness does its tools.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v shellcheck >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends shellcheck >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends shellcheck >/dev/null; }
  else
    echo "shellcheck is missing (fix: apt-get install shellcheck)" >&2
    exit 3
  fi
fi
shellcheck -S warning upgrade-kernel.sh src/guest/init.sh src/vm/vagrant-box.sh bench/by-hand.sh .ci/run test/shellcheck.sh
