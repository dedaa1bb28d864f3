import sys
src = open("Sources/TrailService/Serving/Pyfunc/pyfunc_worker.py").read()
assert '"""#' not in src and '\\#(' not in src
out = '''// Generated from pyfunc_worker.py (beside this file) by `python3 Sources/TrailService/Serving/Pyfunc/generate.py`: do not edit
// here. `PyfuncWorkerProgramTests` checks that the two are the same.
import Foundation
import TrailCore

/// The Python worker program, shipped inside the binary and written next to the models it serves.
public enum PyfuncWorkerProgram {
    public static let source = #"""
''' + src + '''
"""#

    /// Writes the program to `cache/pyfunc_worker-<sha256 prefix>.py` (once) and returns its path.
    public static func install(in cache: URL) throws -> URL {
        let bytes = Array(source.utf8)
        let url = cache.appendingPathComponent("pyfunc_worker-\\(Digest.of(bytes).hex.prefix(16)).py")
        if let existing = try? Data(contentsOf: url), Array(existing) == bytes { return url }
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        let staging = cache.appendingPathComponent(".\\(url.lastPathComponent).\\(UUID().uuidString.prefix(8))")
        try Data(bytes).write(to: staging)
        _ = try? FileManager.default.removeItem(at: url)
        try FileManager.default.moveItem(at: staging, to: url)
        return url
    }
}
'''
open("Sources/TrailService/Serving/Pyfunc/PyfuncWorkerProgram.swift", "w").write(out)
