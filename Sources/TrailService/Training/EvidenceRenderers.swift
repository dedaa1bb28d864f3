import Foundation
import TrailCore
import TrailLearn

/// The evidence files `trail train` writes, rendered deterministically (same metrics, same
/// bytes): confusion matrix as SVG and PNG, classification report as JSON and text.
enum EvidenceRenderers {
    static let classNames = ["malignant (0)", "benign (1)"]

    static func confusionSVG(_ confusion: [[Int]], title: String) -> [UInt8] {
        let total = max(1, confusion.flatMap { $0 }.reduce(0, +))
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="420" height="400" viewBox="0 0 420 400" font-family="sans-serif">
            <title>\(escape(title))</title>
            <rect width="420" height="400" fill="white"/>
            <text x="210" y="24" text-anchor="middle" font-size="16">\(escape(title))</text>
            <text x="250" y="390" text-anchor="middle" font-size="13">predicted</text>
            <text x="18" y="200" text-anchor="middle" font-size="13" transform="rotate(-90 18 200)">true</text>

            """
        for (row, values) in confusion.enumerated() {
            svg += "<text x=\"100\" y=\"\(115 + row * 140)\" text-anchor=\"end\" font-size=\"12\">\(classNames[row])</text>\n"
            for (column, count) in values.enumerated() {
                let shade = 255 - Int(Double(count) / Double(total) * 200)
                let x = 110 + column * 140, y = 45 + row * 140
                svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"140\" height=\"140\" fill=\"rgb(\(shade),\(shade),255)\" stroke=\"black\"/>\n"
                svg += "<text x=\"\(x + 70)\" y=\"\(y + 78)\" text-anchor=\"middle\" font-size=\"28\">\(count)</text>\n"
            }
        }
        for column in 0..<2 {
            svg += "<text x=\"\(180 + column * 140)\" y=\"\(345)\" text-anchor=\"middle\" font-size=\"12\">\(classNames[column])</text>\n"
        }
        svg += "</svg>\n"
        return Array(svg.utf8)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// A 2×2 heat map with the counts drawn in a 5×7 digit font, as an RGB PNG.
    static func confusionPNG(_ confusion: [[Int]]) -> [UInt8] {
        let cell = 160, margin = 20
        let width = margin * 2 + cell * 2, height = width
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        func fill(_ x0: Int, _ y0: Int, _ w: Int, _ h: Int, _ rgb: (UInt8, UInt8, UInt8)) {
            for y in max(0, y0)..<min(height, y0 + h) {
                for x in max(0, x0)..<min(width, x0 + w) {
                    let i = (y * width + x) * 3
                    pixels[i] = rgb.0
                    pixels[i + 1] = rgb.1
                    pixels[i + 2] = rgb.2
                }
            }
        }
        let total = max(1, confusion.flatMap { $0 }.reduce(0, +))
        for row in 0..<2 {
            for column in 0..<2 {
                let count = confusion[row][column]
                let shade = UInt8(255 - Int(Double(count) / Double(total) * 200))
                let x = margin + column * cell, y = margin + row * cell
                fill(x, y, cell, cell, (0, 0, 0))
                fill(x + 2, y + 2, cell - 4, cell - 4, (shade, shade, 255))
                let digits = Array(String(count))
                let scale = 6
                let textWidth = digits.count * 6 * scale - scale
                var cursor = x + (cell - textWidth) / 2
                let top = y + (cell - 7 * scale) / 2
                for digit in digits {
                    let glyph = font[Int(String(digit))!]
                    for (gy, bits) in glyph.enumerated() {
                        for gx in 0..<5 where bits & (1 << (4 - gx)) != 0 {
                            fill(cursor + gx * scale, top + gy * scale, scale, scale, (0, 0, 0))
                        }
                    }
                    cursor += 6 * scale
                }
            }
        }
        return PNG.encodeRGB(width: width, height: height, pixels: pixels)
    }

    /// Digits 0–9, 5 columns × 7 rows, high bit on the left.
    static let font: [[UInt8]] = [
        [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
    ]

    static func classificationReport(_ metrics: BinaryMetrics) -> JSONValue {
        var report: [String: JSONValue] = [:]
        let total = metrics.perClass.map(\.support).reduce(0, +)
        for (i, entry) in metrics.perClass.enumerated() {
            report[i == 0 ? "malignant" : "benign"] = [
                "class": .int(Int64(i)), "precision": .double(entry.precision), "recall": .double(entry.recall), "f1-score": .double(entry.f1),
                "support": .int(Int64(entry.support)),
            ]
        }
        func average(_ weights: [Double]) -> JSONValue {
            let sum = weights.reduce(0, +)
            func avg(_ values: [Double]) -> Double { zip(values, weights).map { $0 * $1 }.reduce(0, +) / sum }
            return [
                "precision": .double(avg(metrics.perClass.map(\.precision))), "recall": .double(avg(metrics.perClass.map(\.recall))),
                "f1-score": .double(avg(metrics.perClass.map(\.f1))), "support": .int(Int64(total)),
            ]
        }
        report["accuracy"] = .double(metrics.accuracy)
        report["macro avg"] = average([1, 1])
        report["weighted avg"] = average(metrics.perClass.map { Double($0.support) })
        report["roc_auc"] = .double(metrics.rocAUC)
        report["positive_class"] = "benign (1)"
        return .object(report)
    }

    static func classificationReportText(_ metrics: BinaryMetrics) -> String {
        func f(_ x: Double) -> String { String(format: "%9.4f", x) }
        let total = metrics.perClass.map(\.support).reduce(0, +)
        var lines = ["              precision    recall  f1-score   support", ""]
        for (i, entry) in metrics.perClass.enumerated() {
            let name = (i == 0 ? "malignant" : "benign").padding(toLength: 12, withPad: " ", startingAt: 0)
            lines.append("\(name)  \(f(entry.precision)) \(f(entry.recall)) \(f(entry.f1)) \(String(format: "%9d", entry.support))")
        }
        lines.append("")
        lines.append("accuracy                          \(f(metrics.accuracy)) \(String(format: "%9d", total))")
        let macro = (0..<3).map { k in metrics.perClass.map { [$0.precision, $0.recall, $0.f1][k] }.reduce(0, +) / 2 }
        lines.append("macro avg     \(f(macro[0])) \(f(macro[1])) \(f(macro[2])) \(String(format: "%9d", total))")
        let weighted = (0..<3).map { k in
            metrics.perClass.map { [$0.precision, $0.recall, $0.f1][k] * Double($0.support) }.reduce(0, +) / Double(total)
        }
        lines.append("weighted avg  \(f(weighted[0])) \(f(weighted[1])) \(f(weighted[2])) \(String(format: "%9d", total))")
        lines.append("")
        lines.append("roc_auc       \(f(metrics.rocAUC))   (positive class: 1 = benign)")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A minimal PNG writer: 8-bit RGB, no filtering, zlib stream of stored (uncompressed) blocks.
enum PNG {
    static func encodeRGB(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (width * 3 + 1))
        for y in 0..<height {
            raw.append(0)
            raw.append(contentsOf: pixels[(y * width * 3)..<((y + 1) * width * 3)])
        }
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65535, raw.count - offset)
            let final: UInt8 = offset + length == raw.count ? 1 : 0
            zlib.append(final)
            zlib.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8((~length >> 8) & 0xff)])
            zlib.append(contentsOf: raw[offset..<offset + length])
            offset += length
        } while offset < raw.count
        zlib.append(contentsOf: bigEndian(adler32(raw)))
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0])
        out += chunk("IDAT", zlib)
        out += chunk("IEND", [])
        return out
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(crc32(typeBytes + data))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = crcTable[Int((c ^ UInt32(byte)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return (b << 16) | a
    }
}
