import ArgumentParser
import Foundation
import OOAuth

/// `oo token`: a development token for the gateway of `oo up`, signed with its HS256 secret.
struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a development token (JWT) for the gateway of `oo up`, signed with its secret.",
        discussion: """
            Signs HS256 with <data-dir>/jwt-secret (which `oo up` makes), issuer oo-dev, audience \
            oo-gateway, as the gateway of `oo up` expects. Prints only the token, so \
            TOKEN=$(oo token --subject ada) works; send it as `authorization: Bearer $TOKEN`. \
            For development: in production tokens come from your identity provider, and the \
            gateway verifies them with its keys (--jwt-jwks).
            """)

    @Option(name: .customLong("data-dir"), help: "The data directory of `oo up` (default oo-data).") var dataDirectory = "oo-data"
    @Option(help: "Whom the token is for: the user id the gateway serves (sub).") var subject: String
    @Option(help: "How long the token is valid: 90s, 15m, 1h, 2d (default 1h; the gateway refuses over 24h).") var ttl = "1h"
    @Option(help: "The issuer (iss; default oo-dev).") var issuer = "oo-dev"
    @Option(help: "The audience (aud; default oo-gateway).") var audience = "oo-gateway"
    @Option(name: .customLong("secret-file"), help: "Sign with this HS256 secret instead of <data-dir>/jwt-secret.") var secretFile: String?
    @Option(name: .customLong("kid"), help: "The key id to put in the header, to select a key of the gateway's JWKS.") var keyID: String?

    func validate() throws {
        guard !subject.isEmpty else { throw ValidationError("--subject must not be empty.") }
        guard Self.seconds(ttl) != nil else {
            throw ValidationError("--ttl must be a positive number with s, m, h or d (90s, 15m, 1h, 2d), got '\(ttl)'.")
        }
    }

    func run() throws {
        let path = secretFile ?? "\(dataDirectory)/jwt-secret"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("Cannot read the secret \(path): run `oo up --data-dir \(dataDirectory)` once (it makes one), or pass --secret-file.")
        }
        let lifetime = Self.seconds(ttl)!
        if lifetime > 24 * 3600 {
            FileHandle.standardError.write(Data("oo token: warning: the gateway refuses tokens valid longer than 24 h unless it runs with a larger --jwt-max-lifetime\n".utf8))
        }
        let now = Date()
        do {
            let signer = try JWTSigner(hs256Secret: Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8), keyID: keyID)
            var id = SystemRandomNumberGenerator()
            let token = try signer.sign(
                subject: subject, issuer: issuer, audience: audience, expiresAt: now.addingTimeInterval(lifetime),
                issuedAt: now, extraClaims: ["jti": .string(String(id.next(), radix: 36))])
            print(token)
        } catch {
            throw ValidationError("Cannot sign with \(path): \(error.message)")
        }
    }

    /// `90s`, `15m`, `1h`, `2d` (or a bare number of seconds) in seconds; nil when not such a
    /// positive duration of at most 366 days.
    static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var number = Substring(text)
        var unit = 1.0
        if let last = text.last, let scale = units[last] {
            number = text.dropLast()
            unit = scale
        }
        guard let value = Double(number), value.isFinite, value > 0 else { return nil }
        let seconds = value * unit
        return seconds <= 366 * 86400 ? seconds : nil
    }
}
