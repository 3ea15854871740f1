// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "secret-sync",
    platforms: [.macOS(.v13)],
    products: [
        // The library is the executable's and its tests' alone (`package` access): no product of its own.
        .executable(name: "secret-sync", targets: ["secret-sync"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // libcurl's header only: the library is dlopen'ed when the first HTTP client is made.
        .systemLibrary(
            name: "CCurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // PKCS#11 types and constants (p11-kit's header); modules are dlopen'ed, nothing is linked.
        .systemLibrary(
            name: "CPKCS11",
            providers: [.apt(["libp11-kit-dev"])]
        ),
        // libyaml's event parser, for the manifest reader; linked statically below.
        .systemLibrary(
            name: "CYAML",
            providers: [.apt(["libyaml-dev"])]
        ),
        // Linux calls Swift cannot make directly (variadic prctl).
        .systemLibrary(name: "CLinux"),
        .target(
            name: "SecretSync",
            dependencies: [
                "COpenSSL",
                "CCurl",
                "CLinux",
                "CPKCS11",
                "CYAML",
                .product(name: "Logging", package: "swift-log"),
            ],
            // libyaml from its static archive: the release binary's needed libraries stay as they were.
            linkerSettings: [.linkedLibrary(":libyaml.a")]
        ),
        .executableTarget(
            name: "secret-sync",
            dependencies: [
                "SecretSync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SecretSyncTests",
            dependencies: ["SecretSync"],
            exclude: ["Fixtures"]
        ),
    ]
)
