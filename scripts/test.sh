#!/usr/bin/env bash
# Everything CI runs, in one command (README: "Run the tests"). Installs what it needs
# (Debian packages, rustup components and targets, Maven artifacts, the Swift chroot)
# idempotently, then runs every suite against the same Rust library:
#   Rust (fmt, clippy, unit + integration + doc tests) · Kotlin (Maven, JUnit 5 via JNA)
#   · Swift (swift test in a Debian trixie chroot) · arm64 (tests under qemu, phone-profile
#   library size and 16 KB alignment) · cargo check for Android and iOS targets.
# Needs root for apt and the Swift chroot (as on CI and the dev machines).
#
# Skip a part locally with ZEROPOLE_SKIP="arm64 mobile swift kotlin" (CI skips nothing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/lib.sh
skip=" ${ZEROPOLE_SKIP:-} "
logs="$root/target/test-logs"
mkdir -p "$logs"
passed=0; failed=0
started=$(date +%s)

# Runs one suite, teeing its output to a log, and adds its counts to the totals.
#   suite <name> <counter> <command...>; counter: cargo | maven | xctest | plain | none
suite() {
  local name="$1" counter="$2"; shift 2
  if [[ "$skip" == *" $name "* ]]; then echo "==> $name: skipped (ZEROPOLE_SKIP)"; return 0; fi
  echo "==> $name"
  local t0=$(date +%s) rc=0
  "$@" 2>&1 | tee "$logs/$name.log" || rc=$?
  local p=0 f=0
  case "$counter" in
    cargo)  p=$(grep -Eo '[0-9]+ passed' "$logs/$name.log" | awk '{s+=$1} END {print s+0}')
            f=$(grep -Eo '[0-9]+ failed' "$logs/$name.log" | awk '{s+=$1} END {print s+0}') ;;
    maven)  local line; line=$(grep -E 'Tests run: [0-9]+, Failures' "$logs/$name.log" | grep -v ' -- in ' | tail -1)
            p=$(sed -E 's/.*Tests run: ([0-9]+).*/\1/' <<<"$line"); f=$(sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1+\2/' <<<"$line" | bc)
            p=$((${p:-0} - ${f:-0})) ;;
    plain)  local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/$name.log" | tail -1)
            p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line") ;;
    xctest) local line; line=$(grep -E 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$logs/$name.log" | tail -1)
            p=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$line"); f=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$line")
            p=$((${p:-0} - ${f:-0})) ;;
  esac
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  echo "==> $name: exit $rc, $p passed, $f failed, $(( $(date +%s) - t0 )) s"
  if [ "$rc" -ne 0 ]; then
    echo "FAILED: $name (log: $logs/$name.log)" >&2
    echo "zeropole: $passed passed, $((failed > 0 ? failed : 1)) failed"
    exit "$rc"
  fi
}

prepare() {
  ensure_apt bc bc
  # The network-namespace NAT lab (station/tests/netlab.rs, run by the rust suite): `ip`
  # and `nft` inside namespaces the tests create themselves.
  ensure_apt ip iproute2
  ensure_apt nft nftables
  rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed | grep -q '^clippy' || rustup component add clippy
  ensure_apt mvn maven
}

kotlin() { (cd android && mvn -B -ntp test -Dzeropole.lib.dir="$root/target/debug"); }
# SwiftPM does not always rebuild the tests when the generated bindings change (a stale
# build crashed on a new enum case), and a clean build takes seconds: start clean.
swift() { rm -rf "$root/ios/.build"; ZEROPOLE_LIB_DIR="$root/target/debug" scripts/swift-env.sh run "$root/ios" swift test --disable-swift-testing; }

suite prepare none prepare
# As root the netlab tests must run, not skip (a skip would hide a missing tool).
if [ "$(id -u)" -eq 0 ]; then export ZEROPOLE_NETLAB_REQUIRED=1; fi
suite rust-format none cargo fmt --all -- --check
suite rust-clippy none cargo clippy -q --workspace --all-targets -- -D warnings
suite rust cargo cargo test --workspace
# A few hundred seeds of the deterministic simulator (faults, byzantine witnesses,
# equivocating wallets); a failing seed is printed with its replay command.
suite sim plain cargo run -q -p zeropole -- sim --seeds 300
suite bindings none scripts/bindings.sh
suite kotlin maven kotlin
suite swift-setup none scripts/swift-env.sh setup
suite swift xctest swift
suite arm64 cargo scripts/test-arm64.sh
suite mobile none scripts/check-mobile.sh

echo "==> all suites passed in $(( $(date +%s) - started )) s"
echo "zeropole: $passed passed, $failed failed"
