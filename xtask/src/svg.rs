//! A few SVG primitives and a scatter/line chart, enough for the figures of `docs/`.
//!
//! Plain SVG text: browsers and GitHub render the labels with their own fonts, so no font
//! files or layout engine are needed here.

use std::fmt::Write;

/// An SVG document being drawn.
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

/// Text anchoring.
#[derive(Clone, Copy)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn name(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Svg {
    /// An empty `width` x `height` drawing on white.
    pub fn new(width: f64, height: f64) -> Self {
        let mut svg = Self {
            width,
            height,
            body: String::new(),
        };
        svg.rect(0.0, 0.0, width, height, "#ffffff", "none");
        svg
    }

    /// A rectangle.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, stroke: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="4" fill="{fill}" stroke="{stroke}"/>"#
        );
    }

    /// A line segment.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="{width}"/>"#
        );
    }

    /// A line with an arrow head at its end.
    pub fn arrow(&mut self, x1: f64, y1: f64, x2: f64, y2: f64) {
        self.line(x1, y1, x2, y2, "#444", 1.5);
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let (ux, uy) = (dx / len, dy / len);
        let (bx, by) = (x2 - 8.0 * ux, y2 - 8.0 * uy);
        let _ = writeln!(
            self.body,
            r##"<path d="M{x2:.1},{y2:.1} L{:.1},{:.1} L{:.1},{:.1} Z" fill="#444"/>"##,
            bx - 4.0 * uy,
            by + 4.0 * ux,
            bx + 4.0 * uy,
            by - 4.0 * ux
        );
    }

    /// A polyline through `points`.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, dashed: bool) {
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let dash = if dashed {
            r#" stroke-dasharray="5,4""#
        } else {
            ""
        };
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="2"{dash}/>"#,
            pts.join(" ")
        );
    }

    /// A filled circle.
    pub fn circle(&mut self, x: f64, y: f64, r: f64, fill: &str) {
        let _ = writeln!(
            self.body,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{fill}"/>"#
        );
    }

    /// A white circle with an outline.
    pub fn ring(&mut self, x: f64, y: f64, r: f64) {
        let _ = writeln!(
            self.body,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="#ffffff" stroke="#444" stroke-width="1.5"/>"##
        );
    }

    /// Text at `(x, y)` (baseline).
    pub fn text(&mut self, x: f64, y: f64, size: f64, anchor: Anchor, text: &str) {
        let _ = writeln!(
            self.body,
            r##"<text x="{x:.1}" y="{y:.1}" font-family="sans-serif" font-size="{size}" text-anchor="{}" fill="#222">{}</text>"##,
            anchor.name(),
            escape(text)
        );
    }

    /// A labelled box of `(w, h)` centred at `(cx, cy)`.
    pub fn node(
        &mut self,
        (cx, cy): (f64, f64),
        (w, h): (f64, f64),
        fill: &str,
        label: &str,
        detail: &str,
    ) {
        self.rect(cx - w / 2.0, cy - h / 2.0, w, h, fill, "#555");
        if detail.is_empty() {
            self.text(cx, cy + 5.0, 14.0, Anchor::Middle, label);
        } else {
            self.text(cx, cy - 2.0, 14.0, Anchor::Middle, label);
            self.text(cx, cy + 14.0, 11.0, Anchor::Middle, detail);
        }
    }

    /// The finished document.
    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

/// One series of a chart.
pub struct Series {
    pub label: String,
    pub colour: &'static str,
    /// `(x, y, point label)`.
    pub points: Vec<(f64, f64, String)>,
    /// Join the points with a line.
    pub line: bool,
}

/// A chart with a (optionally logarithmic) x axis, a linear y axis and labelled points.
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub series: Vec<Series>,
}

/// Margins of a chart around its plot area: left, right (the legend), top, bottom.
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 55.0;

/// A chart's plot area and the data range it shows (x on the log scale with `log_x`).
struct Frame {
    /// Plot area width and height.
    pw: f64,
    ph: f64,
    /// Data range, padded.
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    log_x: bool,
}

/// `x` on the x axis' scale: its logarithm on a log axis.
fn scale(log_x: bool, x: f64) -> f64 {
    if log_x { x.log10() } else { x }
}

impl Frame {
    /// The drawing's x of data `x`.
    fn px(&self, x: f64) -> f64 {
        LEFT + (scale(self.log_x, x) - self.x0) / (self.x1 - self.x0) * self.pw
    }

    /// The drawing's y of data `y`.
    fn py(&self, y: f64) -> f64 {
        TOP + (1.0 - (y - self.y0) / (self.y1 - self.y0)) * self.ph
    }
}

impl Chart {
    /// Renders the chart as an SVG document.
    pub fn render(&self, width: f64, height: f64) -> String {
        let frame = self.frame(width, height);
        let mut svg = Svg::new(width, height);
        svg.text(
            width / 2.0 - RIGHT / 2.0 + LEFT / 2.0,
            24.0,
            16.0,
            Anchor::Middle,
            &self.title,
        );
        self.draw_axes(&mut svg, &frame, height);
        self.draw_series(&mut svg, &frame);
        svg.finish()
    }

    /// The plot area of a `width` x `height` chart, its range the points' plus a margin.
    fn frame(&self, width: f64, height: f64) -> Frame {
        let all: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|(x, y, _)| (scale(self.log_x, *x), *y)))
            .collect();
        let (x0, x1) = all
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let (y0, y1) = all
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
        let (xpad, ypad) = (((x1 - x0) * 0.06).max(1e-6), ((y1 - y0) * 0.08).max(1e-6));
        Frame {
            pw: width - LEFT - RIGHT,
            ph: height - TOP - BOTTOM,
            x0: x0 - xpad,
            x1: x1 + xpad,
            y0: y0 - ypad,
            y1: y1 + ypad,
            log_x: self.log_x,
        }
    }

    /// The axes with their ticks, grid lines and labels.
    fn draw_axes(&self, svg: &mut Svg, f: &Frame, height: f64) {
        let (pw, ph) = (f.pw, f.ph);
        svg.line(LEFT, TOP + ph, LEFT + pw, TOP + ph, "#333", 1.0);
        svg.line(LEFT, TOP, LEFT, TOP + ph, "#333", 1.0);
        // y ticks: 5 evenly spaced.
        for i in 0..=5 {
            let y = f.y0 + (f.y1 - f.y0) * i as f64 / 5.0;
            svg.line(LEFT - 4.0, f.py(y), LEFT, f.py(y), "#333", 1.0);
            svg.line(LEFT, f.py(y), LEFT + pw, f.py(y), "#eee", 1.0);
            svg.text(
                LEFT - 8.0,
                f.py(y) + 4.0,
                11.0,
                Anchor::End,
                &format!("{y:.1}"),
            );
        }
        for x in self.x_ticks(f) {
            svg.line(f.px(x), TOP + ph, f.px(x), TOP + ph + 4.0, "#333", 1.0);
            let label = if self.log_x {
                format!("{x}")
            } else {
                format!("{x:.0}")
            };
            svg.text(f.px(x), TOP + ph + 18.0, 11.0, Anchor::Middle, &label);
        }
        svg.text(
            LEFT + pw / 2.0,
            height - 12.0,
            13.0,
            Anchor::Middle,
            &self.x_label,
        );
        svg.text(16.0, TOP - 12.0, 13.0, Anchor::Start, &self.y_label);
    }

    /// x ticks: 1, 2 and 5 times the decades (log), or about 8 whole-number steps.
    fn x_ticks(&self, f: &Frame) -> Vec<f64> {
        let (x0, x1) = (f.x0, f.x1);
        if self.log_x {
            let mut t = Vec::new();
            let mut decade = 10f64.powf(x0.floor());
            while decade.log10() <= x1 {
                for m in [1.0, 2.0, 5.0] {
                    let v = decade * m;
                    if v.log10() >= x0 && v.log10() <= x1 {
                        t.push(v);
                    }
                }
                decade *= 10.0;
            }
            t
        } else {
            // Whole numbers: a tick per unit, or per larger step on wider ranges.
            let step = ((x1 - x0) / 8.0).ceil().max(1.0);
            let first = (x0 / step).ceil() as i64;
            let last = (x1 / step).floor() as i64;
            (first..=last).map(|i| i as f64 * step).collect()
        }
    }

    /// Every series: its line, labelled points, and its legend entry.
    fn draw_series(&self, svg: &mut Svg, f: &Frame) {
        for (i, s) in self.series.iter().enumerate() {
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .map(|(x, y, _)| (f.px(*x), f.py(*y)))
                .collect();
            if s.line {
                svg.polyline(&pts, s.colour, false);
            }
            for ((x, y), (_, _, label)) in pts.iter().zip(&s.points) {
                svg.circle(*x, *y, 4.0, s.colour);
                svg.text(x + 6.0, y - 6.0, 10.0, Anchor::Start, label);
            }
            let ly = TOP + 10.0 + 20.0 * i as f64;
            svg.circle(LEFT + f.pw + 20.0, ly - 4.0, 5.0, s.colour);
            svg.text(LEFT + f.pw + 30.0, ly, 12.0, Anchor::Start, &s.label);
        }
    }
}
