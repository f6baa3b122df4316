import Foundation

/// Draws done-rate per day, one line per policy, as a standalone SVG a browser opens.
public enum LearningCurveChart {
    /// One line: a label and a value per day (nil where there was no tip).
    public struct Series: Sendable {
        public var label: String
        public var values: [Double?]
        public var color: String

        public init(label: String, values: [Double?], color: String) {
            self.label = label
            self.values = values
            self.color = color
        }
    }

    public static func svg(title: String, series: [Series], days: Int) -> String {
        let width = 720.0, height = 420.0
        let left = 64.0, right = 24.0, top = 48.0, bottom = 56.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let maxValue = max(0.1, (series.flatMap { $0.values.compactMap { $0 } }.max() ?? 1) * 1.15).clamped(to: 0.1...1)
        func x(_ day: Int) -> Double { left + (days <= 1 ? 0 : Double(day) / Double(days - 1) * plotWidth) }
        func y(_ value: Double) -> Double { top + plotHeight * (1 - value / maxValue) }
        var svg: [String] = []
        svg.append(#"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(width))" height="\#(Int(height))" viewBox="0 0 \#(Int(width)) \#(Int(height))" font-family="sans-serif" font-size="12">"#)
        svg.append(#"<rect width="100%" height="100%" fill="white"/>"#)
        svg.append(#"<text x="\#(Int(width / 2))" y="24" text-anchor="middle" font-size="15">\#(escape(title))</text>"#)
        for step in 0...5 {
            let value = maxValue * Double(step) / 5
            let yy = y(value)
            svg.append(#"<line x1="\#(left)" y1="\#(yy)" x2="\#(width - right)" y2="\#(yy)" stroke="gainsboro"/>"#)
            svg.append(#"<text x="\#(left - 8)" y="\#(yy + 4)" text-anchor="end">\#(String(format: "%.0f%%", value * 100))</text>"#)
        }
        for day in 0..<days where days <= 15 || day % max(1, days / 10) == 0 {
            svg.append(#"<text x="\#(x(day))" y="\#(height - bottom + 18)" text-anchor="middle">\#(day + 1)</text>"#)
        }
        svg.append(#"<text x="\#(left + plotWidth / 2)" y="\#(height - 16)" text-anchor="middle">day of the simulation</text>"#)
        svg.append(#"<text transform="translate(16 \#(top + plotHeight / 2)) rotate(-90)" text-anchor="middle">done-rate of tips</text>"#)
        svg.append(#"<line x1="\#(left)" y1="\#(top + plotHeight)" x2="\#(width - right)" y2="\#(top + plotHeight)" stroke="black"/>"#)
        svg.append(#"<line x1="\#(left)" y1="\#(top)" x2="\#(left)" y2="\#(top + plotHeight)" stroke="black"/>"#)
        for (index, line) in series.enumerated() {
            let points = line.values.enumerated().compactMap { day, value in value.map { "\(x(day)),\(y($0))" } }
            svg.append(#"<polyline fill="none" stroke="\#(line.color)" stroke-width="2.5" points="\#(points.joined(separator: " "))"/>"#)
            for (day, value) in line.values.enumerated() {
                if let value { svg.append(#"<circle cx="\#(x(day))" cy="\#(y(value))" r="3" fill="\#(line.color)"/>"#) }
            }
            let legendY = top + 8 + Double(index) * 18
            svg.append(#"<rect x="\#(left + 12)" y="\#(legendY - 9)" width="14" height="4" fill="\#(line.color)"/>"#)
            svg.append(#"<text x="\#(left + 32)" y="\#(legendY - 3)">\#(escape(line.label))</text>"#)
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
