// swift-tools-version: 6.1
import PackageDescription

// The protoc plugin that writes oO mesh's service stubs, kept out of the main package's
// build graph. `tools/generate` builds it (and swift-protobuf's `protoc-gen-swift`, from
// this same package) and runs both over Proto/ into Generated/.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "oo-mesh-generator",
    products: [
        .executable(name: "protoc-gen-oomesh", targets: ["protoc-gen-oomesh"]),
        .library(name: "OOMeshGenerator", targets: ["OOMeshGenerator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0")
    ],
    targets: [
        // Request → model of services and methods → Swift source.
        .target(
            name: "OOMeshGenerator",
            dependencies: [.product(name: "SwiftProtobufPluginLibrary", package: "swift-protobuf")],
            swiftSettings: swiftSettings),
        // The plugin protoc runs: reads a CodeGeneratorRequest on stdin, answers on stdout.
        .executableTarget(
            name: "protoc-gen-oomesh",
            dependencies: ["OOMeshGenerator", .product(name: "SwiftProtobufPluginLibrary", package: "swift-protobuf")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "OOMeshGeneratorTests",
            dependencies: [
                "OOMeshGenerator",
                .product(name: "SwiftProtobufPluginLibrary", package: "swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings),
    ]
)
