import Foundation

/// The services of the oO mesh and where each listens: what `oo up` starts on loopback and
/// what compose.yaml runs in containers (a test keeps the two in step).
public struct MeshLayout: Sendable, Hashable {
    /// One service of the mesh.
    public struct Service: Sendable, Hashable {
        /// The name `oo serve` takes, e.g. `ml-serving`.
        public var name: String
        /// The gRPC service it serves, e.g. `oo.ml.v1.ModelServing` (health is reported
        /// for it and for the overall server).
        public var grpcService: String
        /// Its port is `basePort + portOffset`.
        public var portOffset: Int
        /// The services it calls, by name: they are started before it.
        public var dependencies: [String]
    }

    /// The services in start order: each after those it calls.
    public static let services: [Service] = [
        Service(name: "registry", grpcService: "oo.registry.v1.SchemaRegistry", portOffset: 4, dependencies: []),
        Service(name: "ml-serving", grpcService: "oo.ml.v1.ModelServing", portOffset: 2, dependencies: ["registry"]),
        Service(name: "notifier", grpcService: "oo.notifier.v1.Notifier", portOffset: 3, dependencies: []),
        Service(name: "recommender", grpcService: "oo.recommender.v1.Recommender", portOffset: 1, dependencies: ["ml-serving"]),
        Service(
            name: "gateway", grpcService: "oo.gateway.v1.Gateway", portOffset: 0,
            dependencies: ["recommender", "notifier", "ml-serving"]),
    ]

    /// The first port; the gateway listens on it. Default 50051.
    public var basePort: Int
    /// The address services listen on and call each other at. Default 127.0.0.1.
    public var host: String

    /// A layout from `basePort` on `host`.
    public init(basePort: Int = 50051, host: String = "127.0.0.1") {
        self.basePort = basePort
        self.host = host
    }

    /// The port of the service named `name`.
    public func port(of name: String) -> Int {
        guard let service = Self.services.first(where: { $0.name == name }) else {
            preconditionFailure("No service named \(name) in the mesh.")
        }
        return basePort + service.portOffset
    }

    /// The port of the admin endpoint (`/metrics`) of the service named `name`: its port + 100.
    public func adminPort(of name: String) -> Int { port(of: name) + 100 }

    /// `host:port` of the service named `name`.
    public func address(of name: String) -> String { "\(host):\(port(of: name))" }

    /// The environment variable that tells a service where `name` is, e.g. `OO_ML_SERVING`
    /// (what `oo serve` reads when the `--ml-serving` flag is not given).
    public static func addressVariable(of name: String) -> String {
        "OO_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }
}
