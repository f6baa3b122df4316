// swift-tools-version: 6.0
import PackageDescription

// The grpc-swift 2 peer of tools/bench/run: bench.v1.Echo on grpc-swift 2 with the NIO
// HTTP/2 transport (HTTP2ServerTransport.Posix, plaintext, default settings). A package of
// its own, outside the main package's build graph. `generate` rewrites the committed code in
// Sources/echo-server-grpc-swift/Generated from Proto/bench/v1/echo.proto.
let package = Package(
    name: "bench-grpc-swift",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "echo-server-grpc-swift", targets: ["echo-server-grpc-swift"])
    ],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        .executableTarget(
            name: "echo-server-grpc-swift",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
