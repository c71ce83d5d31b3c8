#!/usr/bin/env bash
# `cargo check` of the FFI crate (and so the whole core) for the phone targets
# aarch64-linux-android and aarch64-apple-ios, on a machine with neither the Android NDK
# nor an Apple SDK.
#
# What this verifies: every Rust line type-checks with the phone's cfg (target_os =
# "android"/"ios"). What it does not: the C parts (bundled SQLite, BLAKE3's SIMD) are
# compiled by the Linux aarch64 cross compiler standing in for the NDK's clang and Xcode's
# clang, and nothing is linked. Real phone builds: scripts/build-android.sh and
# scripts/build-ios.sh on a machine with the NDK / Xcode.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/lib.sh
ensure_apt aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross

standin="$root/target/mobile-check"
mkdir -p "$standin/sdk"
# Drops the Apple-only flags cc-rs passes, then calls the aarch64 cross compiler.
cat > "$standin/cc" <<'CC'
#!/usr/bin/env bash
args=(); skip=0
for a in "$@"; do
  if [ $skip = 1 ]; then skip=0; continue; fi
  case "$a" in
    -arch|-isysroot) skip=1 ;;
    -gfull) args+=("-g") ;;
    -miphoneos-version-min=*|-mios-simulator-version-min=*|-mmacosx-version-min=*|-fembed-bitcode) ;;
    *) args+=("$a") ;;
  esac
done
# glibc hides pthread_rwlock_t under -std=c11 unless asked; bionic and Darwin do not
# (aws-lc-sys needs it), so the stand-in asks.
exec aarch64-linux-gnu-gcc -D_GNU_SOURCE -idirafter "$(dirname "$0")/include" "${args[@]}"
CC
chmod +x "$standin/cc"
# The oslog crate's C wrapper includes <os/log.h>, which only Xcode has: a declaration-only
# stand-in lets it compile (nothing is linked, so nothing calls these).
mkdir -p "$standin/include/os"
cat > "$standin/include/os/log.h" <<'H'
/* Stand-in for Xcode's <os/log.h> (scripts/check-mobile.sh): declarations only. */
#pragma once
#include <stdint.h>
typedef struct os_log_s *os_log_t;
typedef uint8_t os_log_type_t;
#define OS_LOG_DEFAULT ((os_log_t)0)
#define os_log_with_type(log, type, ...) ((void)(log), (void)(type))
#define os_log_debug(log, ...) ((void)(log))
#define os_log_info(log, ...) ((void)(log))
#define os_log(log, ...) ((void)(log))
#define os_log_error(log, ...) ((void)(log))
#define os_log_fault(log, ...) ((void)(log))
H

for target in aarch64-linux-android aarch64-apple-ios; do
  ensure_rust_target "$target"
  var="${target//-/_}"
  echo "==> cargo check --target $target (C compiled by a stand-in, not linked)"
  env "CC_$var=$standin/cc" "AR_$var=aarch64-linux-gnu-ar" SDKROOT="$standin/sdk" \
    cargo check -q -p zeropole-ffi --target "$target"
done
echo "mobile targets: type-check OK"
