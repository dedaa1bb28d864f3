import Foundation
import TrailCore

/// Charts and graphs as SVG, drawn on the server: no script needed to see them.
enum SVG {
    static let palette = ["#1f5fa8", "#d1495b", "#2a9d8f", "#e09f3e", "#6a4c93", "#3d405b", "#8ab17d", "#bc6c25"]

    struct Series {
        var label: String
        var points: [(x: Double, y: Double)]
    }

    /// One chart with a curve per series (`class="curve"`, `data-series` naming it), steps on x.
    static func lineChart(title: String, series: [Series], width: Int = 720, height: Int = 260) -> String {
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        guard !all.isEmpty else { return HTML.empty("No values of \(HTML.escape(title)) to draw.") }
        let left = 64.0, right = 16.0, top = 24.0, bottom = 36.0 + Double((series.count + 2) / 3) * 16
        let w = Double(width), h = Double(height) + 16 + Double((series.count + 2) / 3) * 16
        var minX = all.map(\.x).min()!, maxX = all.map(\.x).max()!
        var minY = all.map(\.y).min()!, maxY = all.map(\.y).max()!
        if minX == maxX { minX -= 1; maxX += 1 }
        if minY == maxY { minY -= abs(minY) * 0.05 + 0.5; maxY += abs(maxY) * 0.05 + 0.5 }
        let plotW = w - left - right, plotH = Double(height) - top - 36
        func px(_ x: Double) -> Double { left + (x - minX) / (maxX - minX) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - minY) / (maxY - minY)) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = "<svg class=\"chart\" viewBox=\"0 0 \(width) \(Int(h))\" role=\"img\" aria-label=\"\(HTML.escape(title)) by step\" data-metric=\"\(HTML.escape(title))\">"
        out += "<title>\(HTML.escape(title)) by step</title>"
        out += "<text x=\"\(f(left))\" y=\"16\" font-weight=\"600\">\(HTML.escape(title))</text>"
        out += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(left + plotW))\" y2=\"\(f(top + plotH))\"/>"
        out += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\"/>"
        for i in 0...4 {
            let y = minY + (maxY - minY) * Double(i) / 4
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(py(y) + 4))\" text-anchor=\"end\">\(HTML.escape(short(y)))</text>"
            let x = minX + (maxX - minX) * Double(i) / 4
            out += "<text x=\"\(f(px(x)))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(HTML.escape(short(x)))</text>"
        }
        out += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(top + plotH + 30))\" text-anchor=\"middle\">step</text>"
        for (n, s) in series.enumerated() {
            let color = palette[n % palette.count]
            let points = s.points.filter { $0.x.isFinite && $0.y.isFinite }.sorted { $0.x < $1.x }
            guard !points.isEmpty else { continue }
            if points.count == 1 {
                out += "<circle class=\"curve\" data-series=\"\(HTML.escape(s.label))\" cx=\"\(f(px(points[0].x)))\" cy=\"\(f(py(points[0].y)))\" r=\"4\" fill=\"\(color)\"><title>\(HTML.escape(s.label)): \(HTML.escape(short(points[0].y)))</title></circle>"
            } else {
                let d = points.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(f(px($0.element.x))),\(f(py($0.element.y)))" }.joined(separator: " ")
                out += "<path class=\"curve\" data-series=\"\(HTML.escape(s.label))\" d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"><title>\(HTML.escape(s.label))</title></path>"
            }
            let lx = left + Double(n % 3) * (plotW / 3), ly = Double(height) + 12 + Double(n / 3) * 16
            out += "<rect x=\"\(f(lx))\" y=\"\(f(ly - 9))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            out += "<text x=\"\(f(lx + 14))\" y=\"\(f(ly))\">\(HTML.escape(String(s.label.prefix(40))))</text>"
        }
        _ = bottom
        return out + "</svg>"
    }

    /// At most this many points per curve are drawn.
    static let maxPoints = 400

    /// A curve thinned to at most `maxPoints`, in step order, keeping each stretch's first
    /// point, its lowest and highest, and the curve's last point.
    static func thin(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        let sorted = points.sorted { $0.x < $1.x }
        guard sorted.count > maxPoints else { return sorted }
        let buckets = maxPoints / 3
        var out: [(x: Double, y: Double)] = []
        out.reserveCapacity(maxPoints + 1)
        for b in 0..<buckets {
            let from = b * sorted.count / buckets, to = (b + 1) * sorted.count / buckets
            guard from < to else { continue }
            let slice = sorted[from..<to]
            let low = slice.min { $0.y < $1.y }!, high = slice.max { $0.y < $1.y }!
            var chosen = [slice.first!, low, high]
            chosen.sort { $0.x < $1.x }
            for p in chosen where !(out.last.map { $0.x == p.x && $0.y == p.y } ?? false) { out.append(p) }
        }
        if let last = sorted.last, out.last.map({ $0.x != last.x || $0.y != last.y }) ?? true { out.append(last) }
        return out
    }

    static func short(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e9 { return String(Int64(v)) }
        return String(format: abs(v) >= 1000 || abs(v) < 0.01 ? "%.3g" : "%.4g", v)
    }

    struct Node {
        var id: String
        var column: Int
        var label: String
        var detail: String
        var href: String?
        var kind: String
    }

    /// A left-to-right graph: nodes in columns (dataset → run → version → deployment →
    /// predictions), edges between node ids.
    static func graph(nodes: [Node], edges: [(String, String)], columns: [String]) -> String {
        guard !nodes.isEmpty else { return HTML.empty("Nothing to draw.") }
        let colW = 230.0, rowH = 64.0, boxW = 200.0, boxH = 46.0
        var rows: [Int: Int] = [:]
        var position: [String: (x: Double, y: Double)] = [:]
        for node in nodes {
            let row = rows[node.column, default: 0]
            rows[node.column] = row + 1
            position[node.id] = (16 + Double(node.column) * colW, 40 + Double(row) * rowH)
        }
        let height = 40 + Double(rows.values.max() ?? 1) * rowH + 8
        let width = 16 + Double(columns.count) * colW
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = "<svg class=\"graph\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"lineage graph\">"
        out += "<title>Lineage: \(HTML.escape(columns.joined(separator: " → ")))</title>"
        out += "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#8a97a6\"/></marker></defs>"
        for (n, name) in columns.enumerated() {
            out += "<text x=\"\(f(16 + Double(n) * colW))\" y=\"20\" font-weight=\"600\">\(HTML.escape(name))</text>"
        }
        for (from, to) in edges {
            guard let a = position[from], let b = position[to] else { continue }
            out += "<line class=\"edge\" x1=\"\(f(a.x + boxW))\" y1=\"\(f(a.y + boxH / 2))\" x2=\"\(f(b.x))\" y2=\"\(f(b.y + boxH / 2))\" stroke=\"#8a97a6\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>"
        }
        let fills = ["dataset": "#e8f1fb", "run": "#eef7ee", "version": "#fff4d6", "deployment": "#f3e8fb", "predictions": "#fdeaea", "commit": "#eef1f4", "environment": "#eef1f4"]
        for node in nodes {
            guard let p = position[node.id] else { continue }
            var box = "<g class=\"node\" data-kind=\"\(HTML.escape(node.kind))\"><title>\(HTML.escape(node.label)) — \(HTML.escape(node.detail))</title>"
            box += "<rect x=\"\(f(p.x))\" y=\"\(f(p.y))\" width=\"\(f(boxW))\" height=\"\(f(boxH))\" rx=\"6\" fill=\"\(fills[node.kind] ?? "#fff")\" stroke=\"#5f6d7b\"/>"
            box += "<text x=\"\(f(p.x + 8))\" y=\"\(f(p.y + 18))\" font-weight=\"600\">\(HTML.escape(String(node.label.prefix(28))))</text>"
            box += "<text x=\"\(f(p.x + 8))\" y=\"\(f(p.y + 36))\">\(HTML.escape(String(node.detail.prefix(30))))</text></g>"
            if let href = node.href { box = "<a href=\"\(HTML.escape(href))\">\(box)</a>" }
            out += box
        }
        return out + "</svg>"
    }
}
