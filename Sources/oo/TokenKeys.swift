import Foundation
import OOAuth
import OOMeshHTTP2

/// The gateway's token rules, from `oo serve`'s settings: the key files (an HS256 secret, an
/// ES256 public key, a JWKS of several keys by `kid`), the issuer and audience, the longest
/// lifetime a token may have, and how often the key files are looked at for a rotation.
struct TokenKeys {
    /// The flags as given (nil: not given).
    struct Flags {
        var secretFile: String?
        var publicKeyFile: String?
        var jwksFile: String?
        var issuer: String?
        var audience: String?
        var maxLifetime: Double?
        var reloadInterval: Double?
    }

    let secretFile: String?
    let publicKeyFile: String?
    let jwksFile: String?
    let issuer: String
    let audience: String
    let maxLifetime: Duration
    /// Watches the key files; nil with a 0 interval (SIGHUP only).
    let watcher: TLSFileWatcher?

    init(settings: Settings, flags: Flags) throws {
        secretFile = settings.string(flags.secretFile, "jwt-secret-file")
        publicKeyFile = settings.string(flags.publicKeyFile, "jwt-es256-public-key")
        jwksFile = settings.string(flags.jwksFile, "jwt-jwks")
        guard secretFile != nil || publicKeyFile != nil || jwksFile != nil else {
            throw SettingsError(message: """
                gateway needs a token key: --jwt-secret-file FILE (HS256), --jwt-es256-public-key PEM, \
                or --jwt-jwks FILE (a JWKS of keys by kid).
                """)
        }
        issuer = settings.string(flags.issuer, "jwt-issuer", default: "oo-dev")
        audience = settings.string(flags.audience, "jwt-audience", default: "oo-gateway")
        let lifetime = try settings.double(flags.maxLifetime, "jwt-max-lifetime", default: 24 * 3600)
        guard lifetime.isFinite, (60...(366 * 24 * 3600)).contains(lifetime) else {
            throw SettingsError(message: "--jwt-max-lifetime must be 60 to 31622400 seconds (1 minute to 366 days), got \(lifetime).")
        }
        maxLifetime = .seconds(lifetime)
        let interval = try settings.double(flags.reloadInterval, "jwt-reload-interval", default: 5)
        guard interval >= 0, interval.isFinite else {
            throw SettingsError(message: "--jwt-reload-interval must be 0 (only on SIGHUP) or a number of seconds, got \(interval).")
        }
        watcher = interval == 0 ? nil : TLSFileWatcher(
            paths: [secretFile, publicKeyFile, jwksFile], interval: .milliseconds(Int64(interval * 1000)))
    }

    /// Reads the key files and makes a verifier of them, with a line saying what it holds
    /// ("3 keys: HS256 key without kid, HS256 key '2026-12', ES256 key 'idp-7'").
    ///
    /// - Throws: `SettingsError` naming the file and what is wrong with it.
    func load() throws -> (verifier: JWTVerifier, summary: String) {
        var keys: [JWTVerifier.Key] = []
        var notes: [String] = []
        if let path = secretFile {
            let text = try Self.read(path, "the JWT secret file")
            keys.append(.hs256(secret: Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)))
        }
        if let path = publicKeyFile {
            keys.append(.es256(publicKeyPEM: try Self.read(path, "the ES256 public key file")))
        }
        if let path = jwksFile {
            do {
                let set = try JWKS(json: Array(try Self.read(path, "the JWKS file").utf8))
                keys += set.keys
                notes += set.skipped.map { "skipped \($0)" }
            } catch let error as JWTKeyError {
                throw SettingsError(message: "Cannot use the JWKS file \(path): \(error.message)")
            }
        }
        do {
            let verifier = try JWTVerifier(configuration: .init(
                issuer: issuer, audience: audience, keys: keys, maxLifetime: maxLifetime))
            let summary = "\(keys.count) key\(keys.count == 1 ? "" : "s"): " + keys.map(\.description).joined(separator: ", ")
                + (notes.isEmpty ? "" : " (" + notes.joined(separator: "; ") + ")")
            return (verifier, summary)
        } catch {
            throw SettingsError(message: "Cannot use the token keys: \(error.message)")
        }
    }

    private static func read(_ path: String, _ what: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { throw SettingsError(message: "Cannot read \(what) \(path): it does not exist.") }
        guard info.st_size <= JWKS.maxSize else {
            throw SettingsError(message: "Cannot use \(what) \(path): it is \(info.st_size) bytes; the limit is \(JWKS.maxSize).")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SettingsError(message: "Cannot read \(what) \(path).")
        }
        return text
    }
}
