import ArgumentParser
import OOAuth

/// `oo certs`: a development CA and one certificate per workload (see
/// `DevelopmentCertificates`); what `oo up` makes for the mesh and `tools/make-certs` runs.
struct Certs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a development CA and a certificate per workload (not for production).",
        discussion: """
            Writes ca.pem/ca.key and, for every NAME, NAME.pem (leaf + CA chain) and NAME.key into \
            --out. Each leaf serves TLS and mutual TLS both ways, for NAME, localhost, 127.0.0.1 and \
            ::1, with the workload identity URI spiffe://<trust-domain>/NAME. Existing files are kept: \
            running it again only adds what is missing.
            """)

    /// The workloads of `oo up`, and `operator` for people and tools.
    static let defaultNames = ["gateway", "recommender", "ml-serving", "notifier", "registry", "operator"]

    @Option(help: "The directory (default .mesh/certs).") var out = ".mesh/certs"
    @Option(help: "Days new certificates are valid (default 825).") var days = 825
    @Option(name: .customLong("trust-domain"), help: "The SPIFFE trust domain of the identities (default oo.local).")
    var trustDomain = "oo.local"
    @Argument(help: "The workloads (default: \(Certs.defaultNames.joined(separator: " "))).") var names: [String] = []

    func run() throws {
        let certificates = DevelopmentCertificates(directory: out, trustDomain: trustDomain, validityDays: days)
        do {
            for path in try certificates.ensure(names.isEmpty ? Self.defaultNames : names) { print("oo certs: created \(path)") }
        } catch {
            throw ValidationError(error.description)
        }
    }
}
