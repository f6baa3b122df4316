import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// gRPC's interop test credentials (``InteropTestCredentials``) written out as PEM files,
/// for the TLS configurations, which take paths: a new private directory (mode 0700) under
/// the temporary directory, each file mode 0600. One per process; `remove()` deletes them.
public struct InteropTestCredentialFiles: Sendable {
    /// The directory that holds the files.
    public let directory: String

    /// The interop test CA (`ca.pem`).
    public var caCertificatePath: String { "\(directory)/ca.pem" }
    /// server1's certificate (`server1.pem`).
    public var serverCertificatePath: String { "\(directory)/server1.pem" }
    /// server1's private key (`server1.key`).
    public var serverPrivateKeyPath: String { "\(directory)/server1.key" }
    /// The test client's certificate (`client.pem`).
    public var clientCertificatePath: String { "\(directory)/client.pem" }
    /// The test client's private key (`client.key`).
    public var clientPrivateKeyPath: String { "\(directory)/client.key" }

    /// Each file's path and the PEM text it holds.
    public var contents: [(path: String, text: String)] {
        [
            (caCertificatePath, InteropTestCredentials.caCertificate),
            (serverCertificatePath, InteropTestCredentials.serverCertificate),
            (serverPrivateKeyPath, InteropTestCredentials.serverPrivateKey),
            (clientCertificatePath, InteropTestCredentials.clientCertificate),
            (clientPrivateKeyPath, InteropTestCredentials.clientPrivateKey),
        ]
    }

    /// Writes the five files into a new private directory.
    public static func write() throws -> InteropTestCredentialFiles {
        var template = Array("\(FileManager.default.temporaryDirectory.path)/oo-interop-credentials.XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw InteropCredentialsError(description: "Cannot create a directory for the interop test credentials: \(String(cString: strerror(errno)))")
        }
        let files = InteropTestCredentialFiles(directory: String(cString: created))
        do {
            for (path, text) in files.contents {
                try writePrivateFile(path, text)
            }
        } catch {
            files.remove()
            throw error
        }
        return files
    }

    /// Deletes the files and their directory.
    public func remove() {
        for (path, _) in contents {
            unlink(path)
        }
        rmdir(directory)
    }

    /// Creates `path` (which must not exist) with mode 0600 and writes `text` to it.
    private static func writePrivateFile(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw InteropCredentialsError(description: "Cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                throw InteropCredentialsError(description: "Cannot write \(path): \(String(cString: strerror(errno)))")
            }
            written += count
        }
    }
}

/// The interop test credentials could not be written out.
public struct InteropCredentialsError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
}
