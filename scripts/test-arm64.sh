#!/usr/bin/env bash
# ARM64 on this x86_64 machine:
#  1. cross-builds zeropole-core's tests for aarch64-unknown-linux-gnu and runs them under
#     qemu-aarch64 (user-mode emulation);
#  2. builds the shipped library with the phone profile for that target (a proxy for the
#     Android arm64-v8a .so, which needs the NDK) and checks its size and 16 KB alignment.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/lib.sh
target=aarch64-unknown-linux-gnu
ensure_apt qemu-aarch64 qemu-user
ensure_apt aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross
ensure_rust_target "$target"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
# Tests that re-execute themselves (crash tests) need the emulator too.
export ZEROPOLE_TEST_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"

# Under qemu every instruction is emulated (≈ 8× slower): the unit tests, the wallet
# (Falcon, SQLite, crash) tests and one real network (4 stations, 2 phones, QUIC and TCP
# on loopback) run here; the long simulator seeds run natively in the `sim` suite.
echo "==> arm64: zeropole-core tests under qemu-aarch64"
cargo test -p zeropole-core --target "$target" --lib --test wallet --test net_loopback -- \
  --skip sim::tests --skip sim::attack --skip broadcast::sim

echo "==> arm64: phone-profile library (size and alignment)"
cargo rustc -q -p zeropole-ffi --lib --crate-type cdylib --profile release-phone --target "$target"
so="target/$target/release-phone/libzeropole_ffi.so"
size=$(stat -c %s "$so")
# DESIGN.md §11 targets ≤ 4 MB. With the whole network stack linked (libp2p QUIC + TCP/TLS,
# rustls on aws-lc-rs *and* ring, which libp2p-quic needs) the library does not meet it
# (BENCHMARKS.md, "Native library size"): the check reports the target and fails only
# above a ceiling that catches regressions.
target_size=$((4 * 1000 * 1000))
ceiling=$((6656 * 1024))
aligns=$(readelf -lW "$so" | awk '$1 == "LOAD" {print $NF}' | sort -u | tr '\n' ' ')
echo "arm64 libzeropole_ffi.so: $size bytes, LOAD alignment: $aligns"
if [ "$size" -le "$target_size" ]; then
  echo "arm64 size: within the 4 MB target"
else
  echo "arm64 size: TARGET NOT MET: $size bytes > 4 MB (ratio $(echo "scale=2; $size / $target_size" | bc)); ceiling 6.5 MiB"
fi
[ "$size" -le "$ceiling" ] || { echo "FAIL: $so is larger than the 6.5 MiB ceiling" >&2; exit 1; }
for a in $aligns; do
  [ "$((a))" -ge $((0x4000)) ] || { echo "FAIL: LOAD segment aligned to $a, need 0x4000" >&2; exit 1; }
done
echo "arm64: OK"
