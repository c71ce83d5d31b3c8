// swift-tools-version: 6.0
//
// ZeroPole for Swift: an idiomatic layer (`ZeroPole`) over the UniFFI-generated bindings
// (`ZeroPoleFFI`) of the Rust crate `zeropole-ffi`.
//
// Before building, run `scripts/bindings.sh` from the repository root: it builds
// `libzeropole_ffi` and writes the generated `Sources/ZeroPoleFFI/ZeroPoleFFI.swift` and
// `Sources/ZeroPoleFFIC/zeropole_ffiFFI.h`.
//
// The linker looks for `libzeropole_ffi` in `$ZEROPOLE_LIB_DIR`, by default
// `../target/debug` (the repository's Cargo target directory). At run time the library must
// be found too (`LD_LIBRARY_PATH` on Linux; an rpath to the same directory is also set).

import Foundation
import PackageDescription

let libDir: String = {
    if let dir = ProcessInfo.processInfo.environment["ZEROPOLE_LIB_DIR"], !dir.isEmpty {
        return dir
    }
    return URL(fileURLWithPath: Context.packageDirectory)
        .deletingLastPathComponent()
        .appendingPathComponent("target/debug")
        .path
}()

let package = Package(
    name: "ZeroPole",
    platforms: [.iOS(.v13), .macOS(.v10_15)],
    products: [
        .library(name: "ZeroPole", targets: ["ZeroPole"]),
    ],
    targets: [
        // The generated C header plus our own module map.
        .systemLibrary(name: "zeropole_ffiFFI", path: "Sources/ZeroPoleFFIC"),
        // The generated Swift bindings.
        .target(
            name: "ZeroPoleFFI",
            dependencies: ["zeropole_ffiFFI"],
            path: "Sources/ZeroPoleFFI",
            linkerSettings: [
                .unsafeFlags(["-L" + libDir, "-Xlinker", "-rpath", "-Xlinker", libDir]),
            ]
        ),
        // The idiomatic Swift API.
        .target(
            name: "ZeroPole",
            dependencies: ["ZeroPoleFFI"],
            path: "Sources/ZeroPole"
        ),
        .testTarget(
            name: "ZeroPoleTests",
            dependencies: ["ZeroPole"],
            path: "Tests/ZeroPoleTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
