import Foundation
import TrailCore

/// An MLflow model (an `MLmodel` with a `python_function` flavor) among a version's files,
/// materialised read-only in the serving cache under its root digest, for Python workers to load.
public struct PyfuncModel: Sendable, Hashable {
    /// The folder holding the version's files (checked against the manifest when written).
    public var directory: URL
    public var loaderModule: String
    /// `predict` unless MLmodel names another (`predict_proba`, …).
    public var predictFunction: String
    public var pythonVersion: String?
    /// Whether MLmodel has `signature.inputs`.
    public var declaresSignature: Bool

    /// What MLmodel says, or nil when it has no `python_function` flavor. MLmodel is YAML written
    /// by MLflow (`yaml.safe_dump`): the few keys read here are plain scalars at fixed depths.
    public static func describe(mlmodel bytes: [UInt8]) -> (loaderModule: String, predictFunction: String, pythonVersion: String?, signed: Bool)? {
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        var path: [(indent: Int, key: String)] = []
        var loader: String?
        var predict = "predict"
        var python: String?
        var flavor = false
        var signed = false
        for raw in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = String(raw)
            let indent = line.prefix { $0 == " " }.count
            let content = line.dropFirst(indent)
            guard !content.hasPrefix("#"), !content.hasPrefix("- "), let colon = content.firstIndex(of: ":") else { continue }
            let key = content[..<colon].trimmingCharacters(in: .whitespaces)
            guard !key.contains(" ") || key.hasPrefix("'") else { continue }  // a folded continuation line
            var value = content[content.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("'") && value.hasSuffix("'") || value.hasPrefix("\"") && value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            while let last = path.last, last.indent >= indent { path.removeLast() }
            let parents = path.map(\.key)
            if parents == ["flavors"], key == "python_function" { flavor = true }
            if parents == ["flavors", "python_function"] {
                switch key {
                case "loader_module": loader = value
                case "predict_fn": if !value.isEmpty { predict = value }
                case "python_version": python = value
                default: break
                }
            }
            if parents == ["signature"], key == "inputs", !value.isEmpty, value != "null" { signed = true }
            path.append((indent, key))
        }
        guard flavor else { return nil }
        return (loader ?? "", predict, python, signed)
    }

    /// Writes `files` (relative path → bytes, already checked against the manifest) into
    /// `cache/<root hex>/` unless a complete, unaltered copy is there; files are made read-only.
    /// A copy whose bytes no longer match is moved aside and written again.
    public static func materialize(files: [String: [UInt8]], manifest: ModelManifest, cache: URL) throws -> URL {
        let fm = FileManager.default
        let target = cache.appendingPathComponent(manifest.root.hex, isDirectory: true)
        for path in files.keys {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            guard !path.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw TrailError.invalid("reference", "model file path '\(path)' is not a relative path inside the model")
            }
        }
        if fm.fileExists(atPath: target.path) {
            let intact = manifest.files.allSatisfy { file in
                (try? Data(contentsOf: target.appendingPathComponent(file.path))).map { Digest.of(Array($0)) == file.digest } ?? false
            }
            if intact { return target }
            let aside = cache.appendingPathComponent("\(manifest.root.hex).altered-\(UUID().uuidString.prefix(8))")
            makeWritable(target)
            try fm.moveItem(at: target, to: aside)
        }
        try fm.createDirectory(at: cache, withIntermediateDirectories: true)
        let staging = cache.appendingPathComponent(".\(manifest.root.hex).\(UUID().uuidString.prefix(8))", isDirectory: true)
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        for (path, bytes) in files {
            let url = staging.appendingPathComponent(path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
            try fm.setAttributes([.posixPermissions: 0o444], ofItemAtPath: url.path)
        }
        // Directories read-only too (deepest first), then one rename publishes the copy.
        var directories: [String] = []
        if let walker = fm.enumerator(atPath: staging.path) {
            while let item = walker.nextObject() as? String {
                var isDirectory: ObjCBool = false
                if fm.fileExists(atPath: staging.appendingPathComponent(item).path, isDirectory: &isDirectory), isDirectory.boolValue {
                    directories.append(item)
                }
            }
        }
        for item in directories.sorted(by: { $0.count > $1.count }) {
            try fm.setAttributes([.posixPermissions: 0o555], ofItemAtPath: staging.appendingPathComponent(item).path)
        }
        do {
            try fm.moveItem(at: staging, to: target)
        } catch where fm.fileExists(atPath: target.path) {
            // Another process published the same copy first.
            makeWritable(staging)
            try? fm.removeItem(at: staging)
        }
        try? fm.setAttributes([.posixPermissions: 0o555], ofItemAtPath: target.path)
        return target
    }

    static func makeWritable(_ folder: URL) {
        let fm = FileManager.default
        try? fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
        if let walker = fm.enumerator(atPath: folder.path) {
            while let item = walker.nextObject() as? String {
                try? fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.appendingPathComponent(item).path)
            }
        }
    }
}
