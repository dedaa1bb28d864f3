import Foundation
import TrailCore

/// Describes a CSV file as a dataset input: the sha256 of its bytes, its columns with inferred
/// types (`integer`, `double`, `string`), and its shape.
public enum CSVDatasetProfiler {
    public static func describe(
        bytes: [UInt8], name: String, source: String, context: String?
    ) throws -> DatasetInput {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        guard let header = lines.first else { throw TrailError.invalid("file", "the CSV file is empty") }
        let names = splitRow(header)
        guard !names.isEmpty, !names.contains(where: \.isEmpty) else { throw TrailError.invalid("file", "the CSV header has an empty column name") }
        var types = Array(repeating: "integer", count: names.count)
        for (number, line) in lines.dropFirst().enumerated() {
            let cells = splitRow(line)
            guard cells.count == names.count else {
                throw TrailError.invalid("file", "CSV row \(number + 2) has \(cells.count) cells; the header has \(names.count)")
            }
            for (i, cell) in cells.enumerated() where types[i] != "string" {
                if types[i] == "integer", Int64(cell) == nil { types[i] = Double(cell) == nil ? "string" : "double" }
                if types[i] == "double", Double(cell) == nil { types[i] = "string" }
            }
        }
        return DatasetInput(
            name: name, digest: Digest.of(bytes).description, sourceType: "local", source: source,
            schema: zip(names, types).map { DatasetInput.Column(name: $0, type: $1) },
            profile: DatasetInput.Profile(rows: Int64(lines.count - 1), columns: Int64(names.count)), context: context)
    }

    /// Splits one CSV row, honouring double quotes.
    static func splitRow(_ line: String) -> [String] {
        var cells: [String] = []
        var current = ""
        var quoted = false
        var iterator = line.makeIterator()
        while let c = iterator.next() {
            if c == "\"" {
                quoted.toggle()
            } else if c == "," && !quoted {
                cells.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            } else {
                current.append(c)
            }
        }
        cells.append(current.trimmingCharacters(in: .whitespaces))
        return cells
    }
}
