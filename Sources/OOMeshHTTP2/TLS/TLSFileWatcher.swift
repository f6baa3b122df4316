#if canImport(Glibc)
import Glibc
#endif

/// Watches certificate and key files and says when they changed, so a server or client can
/// reload them without a restart (`HTTP2ServerTransport.reloadTLS()`,
/// `HTTP2ClientTransport.reloadTLS()`).
///
/// A file counts as changed when its modification time, size, inode or device differ from
/// the last look: a rename over it (how certificate tools and Kubernetes secret volumes
/// update files) changes the inode, an in-place write the time and size. A missing file is
/// a change too (it is looked at again; the reload that follows fails with the file named
/// and keeps the files in use). Checking is a `stat` per file per interval, on the calling
/// task, which only sleeps in between.
public struct TLSFileWatcher: Sendable {
    /// The files watched.
    public let paths: [String]
    /// How often they are looked at. Default: 5 s (a rotation is picked up within it).
    public let interval: Duration

    /// Watches `paths` (nil entries, for optional files, and repeats are skipped).
    public init(paths: [String?], interval: Duration = .seconds(5)) {
        var seen = Set<String>()
        self.paths = paths.compactMap { $0 }.filter { seen.insert($0).inserted }
        self.interval = interval
    }

    /// What identifies one version of a file; nil when it cannot be read.
    struct Version: Hashable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
    }

    static func version(of path: String) -> Version? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Version(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modifiedSeconds: info.st_mtim.tv_sec, modifiedNanoseconds: info.st_mtim.tv_nsec)
    }

    /// The versions of every watched file now.
    func snapshot() -> [Version?] {
        paths.map(Self.version(of:))
    }

    /// Looks at the files every ``interval`` until the task is cancelled, and calls
    /// `changed` after a look that found any of them different from the previous one.
    public func run(_ changed: @Sendable () -> Void) async {
        var last = snapshot()
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            let now = snapshot()
            if now != last {
                last = now
                changed()
            }
        }
    }
}
