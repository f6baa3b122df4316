public import Foundation

/// A JSON Web Key Set (RFC 7517 §5): the keys a gateway verifies tokens with, in the form
/// identity providers publish them, so several keys can be valid at once and rotate by `kid`.
///
/// ```json
/// {"keys": [
///   {"kty": "oct", "kid": "2026-12", "alg": "HS256", "k": "<base64url secret>"},
///   {"kty": "EC", "kid": "idp-7", "crv": "P-256", "x": "<base64url>", "y": "<base64url>"}
/// ]}
/// ```
///
/// Taken: `oct` keys (HS256; `k` at least 32 bytes) and `EC` keys on P-256 (ES256), each with
/// a `kid`. Left out, and listed in ``skipped``: keys of other types (an RSA key an identity
/// provider also publishes), keys whose `use` is not `sig` or whose `key_ops` do not include
/// `verify`. Refused, with the key named: a key without `kid`, an `alg` that does not match
/// the key type, missing or malformed members, and an EC key carrying its private part `d`
/// (a verifier's file should never hold a signing key). A set has at most ``maxKeys`` keys and
/// at most ``maxSize`` bytes.
public struct JWKS: Sendable, Hashable {
    /// The keys tokens may be verified with, in file order.
    public var keys: [JWTVerifier.Key]
    /// Why each key that was left out was left out ("kid 'r1': kty RSA is not supported").
    public var skipped: [String]

    /// 1 MiB.
    public static let maxSize = 1 << 20
    /// 64 keys.
    public static let maxKeys = 64

    /// Parses a JWKS document.
    ///
    /// - Throws: ``JWTKeyError`` (invalidKey) naming the key and what is wrong with it, or
    ///   (invalidConfiguration) when the document is not a key set, too large, or has no key
    ///   this verifier can use.
    public init(json: some Collection<UInt8>) throws(JWTKeyError) {
        guard json.count <= Self.maxSize else {
            throw JWTKeyError(.invalidConfiguration, "the key set is \(json.count) bytes; the limit is \(Self.maxSize)")
        }
        guard let document = JSON.decodeObject(Array(json)), let entries = document["keys"]?.arrayValue else {
            throw JWTKeyError(.invalidConfiguration, "not a JWKS: expected a JSON object with a \"keys\" array (RFC 7517 §5)")
        }
        guard entries.count <= Self.maxKeys else {
            throw JWTKeyError(.invalidConfiguration, "the key set has \(entries.count) keys; the limit is \(Self.maxKeys)")
        }
        var keys: [JWTVerifier.Key] = []
        var skipped: [String] = []
        for (index, entry) in entries.enumerated() {
            guard let members = entry.objectValue else {
                throw JWTKeyError(.invalidKey, "key \(index) is not a JSON object")
            }
            guard let kid = members["kid"]?.stringValue, !kid.isEmpty else {
                throw JWTKeyError(.invalidKey, "key \(index) has no kid; every key needs one so tokens can name it and keys can rotate")
            }
            let name = "kid '\(Text.sanitized(kid))'"
            guard let kty = members["kty"]?.stringValue else { throw JWTKeyError(.invalidKey, "\(name) has no kty") }
            if let use = members["use"], use.stringValue != "sig" {
                skipped.append("\(name): use is not sig")
                continue
            }
            if let operations = members["key_ops"] {
                guard let list = operations.arrayValue?.compactMap(\.stringValue) else {
                    throw JWTKeyError(.invalidKey, "\(name): key_ops is not an array of strings")
                }
                if !list.contains("verify") {
                    skipped.append("\(name): key_ops does not include verify")
                    continue
                }
            }
            let alg = members["alg"]?.stringValue
            switch kty {
            case "oct":
                guard alg == nil || alg == "HS256" else {
                    throw JWTKeyError(.invalidKey, "\(name): an oct key verifies HS256 here, but its alg is \(Text.sanitized(alg ?? ""))")
                }
                guard let k = members["k"]?.stringValue, let secret = Base64URL.decode(Array(k.utf8)) else {
                    throw JWTKeyError(.invalidKey, "\(name): k (the secret, base64url) is missing or not base64url")
                }
                keys.append(.hs256(secret: secret, id: kid))
            case "EC":
                guard alg == nil || alg == "ES256" else {
                    throw JWTKeyError(.invalidKey, "\(name): an EC key verifies ES256 here, but its alg is \(Text.sanitized(alg ?? ""))")
                }
                guard members["crv"]?.stringValue == "P-256" else {
                    throw JWTKeyError(.invalidKey, "\(name): only the P-256 curve (ES256) is supported")
                }
                guard members["d"] == nil else {
                    throw JWTKeyError(.invalidKey, "\(name) holds a private key (d); give the verifier only the public part")
                }
                guard let x = members["x"]?.stringValue.flatMap({ Base64URL.decode(Array($0.utf8)) }), x.count == 32,
                    let y = members["y"]?.stringValue.flatMap({ Base64URL.decode(Array($0.utf8)) }), y.count == 32
                else {
                    throw JWTKeyError(.invalidKey, "\(name): x and y must be 32-byte base64url coordinates")
                }
                keys.append(.es256(publicKeyPEM: Self.publicKeyPEM(x: x, y: y), id: kid))
            default:
                skipped.append("\(name): kty \(Text.sanitized(kty)) is not supported (HS256 oct and ES256 EC keys are)")
            }
        }
        guard !keys.isEmpty else {
            throw JWTKeyError(
                .invalidConfiguration,
                "the key set has no usable key" + (skipped.isEmpty ? "" : " (" + skipped.joined(separator: "; ") + ")"))
        }
        self.keys = keys
        self.skipped = skipped
    }

    /// The JWKS document of `keys`' public parts, for an HS256 secret as an `oct` key: what
    /// `oo token --jwks` writes and tests rotate with.
    ///
    /// - Throws: ``JWTKeyError`` (invalidKey) for a key without an id.
    public static func document(hs256 secrets: [(id: String, secret: [UInt8])]) throws(JWTKeyError) -> [UInt8] {
        var entries: [JWTClaimValue] = []
        for (id, secret) in secrets {
            entries.append(["kty": "oct", "alg": "HS256", "use": "sig", "kid": .string(id), "k": .string(Base64URL.encode(secret))])
        }
        guard let bytes = JSON.encodeObject(["keys": .array(entries)]) else {
            throw JWTKeyError(.cryptoFailure, "the key set cannot be written as JSON")
        }
        return bytes
    }

    /// A P-256 SubjectPublicKeyInfo PEM for the point (x, y): the fixed DER prefix
    /// (id-ecPublicKey, prime256v1, a 66-byte BIT STRING) then the uncompressed point. Whether
    /// the point is on the curve is checked when a verifier parses the PEM.
    static func publicKeyPEM(x: [UInt8], y: [UInt8]) -> String {
        let prefix: [UInt8] = [
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48,
            0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
        ]
        let body = Data(prefix + x + y).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN PUBLIC KEY-----\n\(body)\n-----END PUBLIC KEY-----\n"
    }
}
