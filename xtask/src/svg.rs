//! A few SVG primitives, enough for the figures of `docs/` (charts: `chart.rs`, `bars.rs`).
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

    /// A filled square of half-side `r` centred at `(x, y)`.
    pub fn square(&mut self, x: f64, y: f64, r: f64, fill: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}"/>"#,
            x - r,
            y - r,
            2.0 * r,
            2.0 * r
        );
    }

    /// Text at `(x, y)` (baseline) in `colour`.
    pub fn text_in(
        &mut self,
        colour: &str,
        (x, y): (f64, f64),
        size: f64,
        anchor: Anchor,
        text: &str,
    ) {
        let _ = writeln!(
            self.body,
            r##"<text x="{x:.1}" y="{y:.1}" font-family="sans-serif" font-size="{size}" text-anchor="{}" fill="{colour}">{}</text>"##,
            anchor.name(),
            escape(text)
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
        self.text_in("#222", (x, y), size, anchor, text);
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
