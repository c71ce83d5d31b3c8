#!/usr/bin/env bash
# Generates the Kotlin and Swift bindings from the host build of zeropole-ffi.
#   scripts/bindings.sh [profile]     (profile: debug (default) or release)
# Output (generated, gitignored):
#   android/target/generated-sources/uniffi/org/zeropole/ffi/zeropole_ffi.kt
#   ios/Sources/ZeroPoleFFI/ZeroPoleFFI.swift
#   ios/Sources/ZeroPoleFFIC/zeropole_ffiFFI.h
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
profile="${1:-debug}"
profile_flag=(); [ "$profile" = release ] && profile_flag=(--release)
target_dir="${CARGO_TARGET_DIR:-$root/target}"

# The generator needs the `cli` feature; build it first, then the library without it, so
# the .so the tests load is the one that ships (both land at the same path).
cargo build --quiet "${profile_flag[@]}" -p zeropole-ffi --features cli --bin uniffi-bindgen
cargo build --quiet "${profile_flag[@]}" -p zeropole-ffi --lib
lib="$target_dir/$profile/libzeropole_ffi.so"
bindgen="$target_dir/$profile/uniffi-bindgen"

kotlin_out="$root/android/target/generated-sources/uniffi"
swift_tmp="$(mktemp -d)"
trap 'rm -rf "$swift_tmp"' EXIT
rm -rf "$kotlin_out" && mkdir -p "$kotlin_out"
"$bindgen" generate --library "$lib" --language kotlin --no-format --out-dir "$kotlin_out"
"$bindgen" generate --library "$lib" --language swift --no-format --out-dir "$swift_tmp"
mkdir -p ios/Sources/ZeroPoleFFI ios/Sources/ZeroPoleFFIC
cp "$swift_tmp/ZeroPoleFFI.swift" ios/Sources/ZeroPoleFFI/ZeroPoleFFI.swift
cp "$swift_tmp/zeropole_ffiFFI.h" ios/Sources/ZeroPoleFFIC/zeropole_ffiFFI.h
echo "bindings: generated from $lib"
