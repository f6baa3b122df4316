// swift-tools-version: 6.1
import PackageDescription

/// Settings applied to every Swift target: Swift 6 language mode plus the upcoming features
/// the project holds itself to.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "oo-mesh",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "OOMesh", targets: ["OOMesh"]),
        .library(name: "OOMeshProtobuf", targets: ["OOMeshProtobuf"]),
        .library(name: "OOMeshHTTP2", targets: ["OOMeshHTTP2"]),
        .executable(name: "oo", targets: ["oo"]),
        .executable(name: "interop-server", targets: ["interop-server"]),
        .executable(name: "interop-client", targets: ["interop-client"]),
        .executable(name: "bench-server", targets: ["bench-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", exact: "1.7.3"),
    ],
    targets: [
        // C libraries, reached through pkg-config.
        .systemLibrary(
            name: "CNGHTTP2", path: "Sources/CNGHTTP2", pkgConfig: "libnghttp2",
            providers: [.apt(["libnghttp2-dev"])]),
        // epoll, eventfd and accept4, which Swift's Glibc module does not expose.
        .target(name: "CMeshLinux"),
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),

        // The transport-agnostic core: status, errors, metadata, call options, the transport
        // seam, client and server call execution, interceptors, the in-process transport.
        .target(name: "OOMesh", swiftSettings: swiftSettings),
        // Protobuf message (de)serialization for the core, on swift-protobuf.
        .target(
            name: "OOMeshProtobuf",
            dependencies: ["OOMesh", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings),
        // gRPC over HTTP/2 on libnghttp2: the event loop, the sockets, the wire protocol.
        .target(
            name: "OOMeshHTTP2",
            dependencies: [
                "OOMesh", "CNGHTTP2", "CMeshLinux", "COpenSSL", "CZlib", .product(name: "Logging", package: "swift-log"),
                // Loop-stall counters (docs/decisions/0006-transport-metrics.md).
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings),

        // Child processes that are never lost: posix_spawn, a waitpid thread per child,
        // close-on-exec pipes (protoc for the schema checker, peers in the tests).
        .target(name: "OOProcess", dependencies: ["CMeshLinux"], swiftSettings: swiftSettings),

        // SQLite files for the services' own data: a small safe API over the C library,
        // used from async code through a serial queue per file.
        .target(name: "OOStorage", dependencies: ["CSQLite"], swiftSettings: swiftSettings),

        // Schemas: the breaking-change checker over protoc's descriptor sets and the
        // compatibility modes of the schema registry.
        .target(
            name: "OOSchema",
            dependencies: ["COpenSSL", "OOProcess", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings),

        // The schema registry service: subjects, versions and compatibility modes on SQLite.
        .target(
            name: "SchemaRegistry",
            dependencies: [
                "OOMesh", "OOSchema", "RegistryProtos", "OOStorage",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings),

        // Code generated from Proto/ by tools/generate. Never edited by hand.
        .target(
            name: "GRPCTestingProtos",
            dependencies: ["OOMesh", "OOMeshProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Generated/grpc/testing", swiftSettings: swiftSettings),
        .target(
            name: "ExampleProtos",
            dependencies: ["OOMesh", "OOMeshProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Generated/oo/example/v1", swiftSettings: swiftSettings),
        .target(
            name: "MLProtos",
            dependencies: ["OOMesh", "OOMeshProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Generated/oo/ml/v1", swiftSettings: swiftSettings),
        .target(
            name: "RegistryProtos",
            dependencies: ["OOMesh", "OOMeshProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Generated/oo/registry/v1", swiftSettings: swiftSettings),
        .target(
            name: "HealthProtos",
            dependencies: ["OOMesh", "OOMeshProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Generated/grpc/health/v1", swiftSettings: swiftSettings),
        .target(
            name: "GatewayProtos",
            dependencies: ["OOMesh", "OOMeshProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Generated/oo/gateway/v1", swiftSettings: swiftSettings),
        .target(
            name: "RecommenderProtos",
            dependencies: ["OOMesh", "OOMeshProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Generated/oo/recommender/v1", swiftSettings: swiftSettings),
        .target(
            name: "NotifierProtos",
            dependencies: ["OOMesh", "OOMeshProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Generated/oo/notifier/v1", swiftSettings: swiftSettings),
        .target(
            name: "ReflectionProtos",
            dependencies: ["OOMesh", "OOMeshProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Generated/grpc/reflection/v1", swiftSettings: swiftSettings),
        .target(
            name: "ReflectionV1AlphaProtos",
            dependencies: ["OOMesh", "OOMeshProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Generated/grpc/reflection/v1alpha", swiftSettings: swiftSettings),
        .target(
            name: "BenchProtos",
            dependencies: ["OOMesh", "OOMeshProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Generated/bench/v1", swiftSettings: swiftSettings),

        // gRPC's interop TestService and client test cases, shared by the two executables.
        // TestCredentials/ holds gRPC's test PEM files, embedded as InteropTestCredentials.swift.
        .target(
            name: "InteropTesting",
            dependencies: ["OOMesh", "GRPCTestingProtos", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["TestCredentials"],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "interop-server",
            dependencies: ["InteropTesting", "OOMeshHTTP2", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "interop-client",
            dependencies: ["InteropTesting", "OOMeshHTTP2", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),

        // The example service from the README.
        .target(
            name: "ExampleService",
            dependencies: ["OOMesh", "ExampleProtos", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "oo",
            dependencies: [
                "OOMesh", "OOMeshHTTP2", "OOSchema", "SchemaRegistry", "RegistryProtos", "ExampleService", "ExampleProtos",
                "BenchProtos", "OOStorage", "OOHealth", "HealthProtos", "OOAuth", "MLServing", "MLProtos", "Notifier",
                "NotifierProtos", "Recommender", "RecommenderProtos", "Gateway", "GatewayProtos", "OOProcess", "MeshRuntime",
                "OOReflection", "ReflectionProtos", "OODynamic", "CMeshLinux", "OOObservability",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings),

        // grpc.health.v1.Health: per-service serving status, Check and Watch.
        .target(
            name: "OOHealth",
            dependencies: ["OOMesh", "HealthProtos", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings),
        // gRPC server reflection (v1 and v1alpha) from the generated embedded descriptors.
        .target(
            name: "OOReflection",
            dependencies: [
                "OOMesh", "ReflectionProtos", "ReflectionV1AlphaProtos", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings),
        // `oo call`'s engine: a server reflection client, and JSON ⇄ protobuf binary driven by descriptors.
        .target(
            name: "OODynamic",
            dependencies: ["OOMesh", "ReflectionProtos", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings),
        // Observability: gRPC metrics (grpc-prometheus names) through swift-metrics and a
        // Prometheus text exporter, W3C trace context through swift-distributed-tracing,
        // call logs with trace ids, and the admin endpoint that serves /metrics.
        .target(
            name: "OOObservability",
            dependencies: [
                "OOMesh",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // JSON Web Tokens on OpenSSL's libcrypto: HS256 and ES256, the claims the gateway checks.
        .target(name: "OOAuth", dependencies: ["COpenSSL"], swiftSettings: swiftSettings),

        // The four oO services, one library each (`oo serve <name>` runs one per process).
        .target(
            name: "MLServing",
            dependencies: [
                "OOMesh", "MLProtos", "OOStorage", "OOSchema", "SchemaRegistry", "RegistryProtos", "OOHealth",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "Notifier",
            dependencies: [
                "OOMesh", "NotifierProtos", "OOStorage", "OOHealth", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "Recommender",
            dependencies: [
                "OOMesh", "RecommenderProtos", "MLProtos", "OOStorage", "OOHealth",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "Gateway",
            dependencies: [
                "OOMesh", "GatewayProtos", "RecommenderProtos", "NotifierProtos", "MLProtos", "OOAuth", "OOHealth",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),

        // Running the mesh: where each service listens (`oo up`, compose.yaml), starting
        // them as child processes and waiting until healthy, and the simulation of users.
        .target(
            name: "MeshRuntime",
            dependencies: [
                "OOMesh", "OOMeshHTTP2", "OOProcess", "HealthProtos", "GatewayProtos", "OOAuth",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings),

        // The benchmark service and server of issue 7 (tools/bench/run drives them).
        .target(
            name: "BenchService",
            dependencies: ["OOMesh", "BenchProtos"],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "bench-server",
            dependencies: ["BenchService", "OOMesh", "OOMeshHTTP2", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),

        .testTarget(
            name: "OOMeshTests",
            dependencies: ["OOMesh", "ExampleProtos", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "OOMeshHTTP2Tests",
            dependencies: [
                "OOMeshHTTP2", "OOMesh", "OOProcess", "InteropTesting", "GRPCTestingProtos", "ExampleService", "ExampleProtos",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SchemaRegistryTests",
            dependencies: [
                "SchemaRegistry", "RegistryProtos", "OOSchema", "OOMesh", "OOMeshHTTP2", "OOProcess",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "OOSchemaTests",
            dependencies: ["OOSchema", "OOProcess", "MLProtos", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "OOAuthTests",
            dependencies: ["OOAuth"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "MLServingTests",
            dependencies: [
                "MLServing", "MLProtos", "OOMesh", "OOMeshHTTP2", "OOHealth", "HealthProtos", "SchemaRegistry",
                "RegistryProtos", "OOSchema", "OOStorage", "OOProcess",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "NotifierTests",
            dependencies: [
                "Notifier", "NotifierProtos", "OOMesh", "OOMeshHTTP2", "OOStorage", "OOProcess",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "MeshTests",
            dependencies: [
                "Gateway", "GatewayProtos", "Recommender", "RecommenderProtos", "MLServing", "MLProtos", "Notifier",
                "NotifierProtos", "OOAuth", "OOHealth", "HealthProtos", "OOMesh", "OOMeshHTTP2", "OOProcess", "OOStorage",
                "MeshRuntime", "ExampleService", "ExampleProtos", "OOObservability",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "OODynamicTests",
            dependencies: [
                "OODynamic", "OOReflection", "OOMesh", "OOMeshHTTP2", "ReflectionProtos", "ExampleService", "ExampleProtos",
                "HealthProtos", "OOHealth", "GRPCTestingProtos", "OOProcess",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings),
    ]
)
