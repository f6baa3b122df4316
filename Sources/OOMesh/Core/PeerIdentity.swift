/// Who the peer proved to be with its TLS certificate (mutual TLS), as the transport
/// verified it.
public struct PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The certificate's subject, e.g. `CN=recommender,O=oO`.
    public var subject: String
    /// The certificate's subject alternative names, e.g. `DNS:recommender`, `IP:127.0.0.1`,
    /// `URI:spiffe://oo/recommender`.
    public var subjectAlternativeNames: [String]

    /// Creates an identity.
    public init(subject: String, subjectAlternativeNames: [String]) {
        self.subject = subject
        self.subjectAlternativeNames = subjectAlternativeNames
    }

    public var description: String {
        subjectAlternativeNames.isEmpty ? subject : "\(subject) (\(subjectAlternativeNames.joined(separator: ", ")))"
    }
}
