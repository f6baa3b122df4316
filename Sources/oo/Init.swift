import ArgumentParser
import MeshRuntime

/// `oo init`: what `oo up` makes before it starts anything, for a mesh started another way.
struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a mesh's development CA, certificates and JWT secret, as `oo up` does, without starting anything.",
        discussion: """
            Writes <data-dir>/certs/ (ca.pem, and NAME.pem/NAME.key for gateway, recommender, \
            ml-serving, notifier, registry and operator; see `oo certs`) and <data-dir>/jwt-secret, \
            keeping whatever exists. compose.yaml's mesh-init container runs it; `oo token \
            --data-dir <data-dir>` signs with the secret. Development credentials, not for production.
            """)

    @Option(name: .customLong("data-dir"), help: "Where to write them (default oo-data).") var dataDirectory = "oo-data"

    func run() throws {
        var configuration = MeshLauncher.Configuration()
        configuration.dataDirectory = dataDirectory
        let created = try MeshLauncher(configuration: configuration).prepare()
        for path in created { print("oo init: created \(path)") }
        if created.isEmpty { print("oo init: \(dataDirectory) already has everything") }
    }
}
