// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "ModelTrail",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "trail", targets: ["trail"]),
        .executable(name: "trail-bench", targets: ["TrailBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "TrailCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "TrailLearn", dependencies: ["TrailCore"]),
        .target(
            name: "TrailLedger",
            dependencies: ["TrailCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "TrailStore",
            dependencies: [
                "TrailCore", "TrailLedger", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TrailArtifacts",
            dependencies: [
                "TrailCore", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "TrailService",
            dependencies: [
                "TrailCore", "TrailStore", "TrailArtifacts", "TrailLedger", "TrailLearn", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            exclude: ["Serving/Pyfunc/pyfunc_worker.py", "Serving/Pyfunc/generate.py"],
            resources: [.copy("Resources/breast_cancer.csv")]
        ),
        .target(
            name: "TrailHTTP",
            dependencies: [
                "TrailCore", "TrailService", "TrailLedger",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["UI/assets", "UI/generate.py"]
        ),
        .target(
            name: "TrailCLI",
            dependencies: [
                "TrailCore", "TrailService", "TrailHTTP", "TrailStore", "TrailArtifacts", "TrailLedger",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(name: "trail", dependencies: ["TrailCLI"]),
        .executableTarget(
            name: "TrailBench",
            dependencies: [
                "TrailCore", "TrailService", "TrailHTTP", "TrailStore", "TrailArtifacts",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                "TrailLedger",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "bench/Sources/TrailBench"
        ),
        .testTarget(name: "TrailCoreTests", dependencies: ["TrailCore"]),
        .testTarget(name: "TrailLearnTests", dependencies: ["TrailLearn"], resources: [.copy("Reference")]),
        .testTarget(name: "TrailLedgerTests", dependencies: ["TrailLedger", .product(name: "Crypto", package: "swift-crypto")], resources: [.copy("Vectors")]),
        .testTarget(name: "TrailStoreTests", dependencies: ["TrailStore", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "TrailArtifactsTests", dependencies: ["TrailArtifacts"], resources: [.copy("Vectors")]),
        .testTarget(name: "TrailServiceTests", dependencies: ["TrailService", "TrailLedger", .product(name: "Crypto", package: "swift-crypto"), .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(
            name: "TrailHTTPTests",
            dependencies: ["TrailHTTP", .product(name: "HummingbirdTesting", package: "hummingbird")]
        ),
        .testTarget(
            name: "TrailCLITests",
            dependencies: ["TrailCLI", "TrailLedger", .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        .testTarget(
            name: "SecurityTests",
            dependencies: [
                "TrailHTTP", "TrailService", "TrailStore", "TrailLedger", "TrailArtifacts", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
