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

echo "==> arm64: zeropole-core tests under qemu-aarch64"
cargo test -p zeropole-core --target "$target" --lib --tests

echo "==> arm64: phone-profile library (size and alignment)"
cargo rustc -q -p zeropole-ffi --lib --crate-type cdylib --profile release-phone --target "$target"
so="target/$target/release-phone/libzeropole_ffi.so"
size=$(stat -c %s "$so")
limit=$((4 * 1024 * 1024))
aligns=$(readelf -lW "$so" | awk '$1 == "LOAD" {print $NF}' | sort -u | tr '\n' ' ')
echo "arm64 libzeropole_ffi.so: $size bytes (limit $limit), LOAD alignment: $aligns"
[ "$size" -le "$limit" ] || { echo "FAIL: $so is larger than 4 MiB" >&2; exit 1; }
for a in $aligns; do
  [ "$((a))" -ge $((0x4000)) ] || { echo "FAIL: LOAD segment aligned to $a, need 0x4000" >&2; exit 1; }
done
echo "arm64: OK"
