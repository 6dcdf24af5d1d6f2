//! A scatter/line chart with round axis ticks, a legend and point labels that do not overlap.

use crate::labels::{Placer, Rect};
use crate::svg::{Anchor, Svg};

/// How a series' points are joined.
#[derive(Clone, Copy, PartialEq)]
pub enum Line {
    None,
    Solid,
    Dashed,
}

/// How a series' points are marked.
#[derive(Clone, Copy, PartialEq)]
pub enum Marker {
    None,
    Circle,
    Square,
}

/// One series of a chart.
pub struct Series {
    pub label: String,
    pub colour: &'static str,
    /// `(x, y, point label)`; an empty label draws none.
    pub points: Vec<(f64, f64, String)>,
    pub line: Line,
    pub marker: Marker,
}

/// A chart with a linear or logarithmic x axis and a linear y axis.
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub series: Vec<Series>,
    /// Tick positions and labels of the x axis; `None`: round numbers.
    pub x_ticks: Option<Vec<(f64, String)>>,
    /// Small print under the chart (sources), one entry per line.
    pub notes: Vec<String>,
    /// Width of the legend column on the right.
    pub legend_width: f64,
}

/// Margins of the plot area: left, top, bottom (before the notes).
const LEFT: f64 = 64.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 52.0;
const NOTE_LINE: f64 = 15.0;

/// The plot area and the data range it shows (x as its logarithm on a log axis).
struct Frame {
    pw: f64,
    ph: f64,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    y_step: f64,
    log_x: bool,
}

fn scale(log_x: bool, x: f64) -> f64 {
    if log_x { x.log10() } else { x }
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        LEFT + (scale(self.log_x, x) - self.x0) / (self.x1 - self.x0) * self.pw
    }

    fn py(&self, y: f64) -> f64 {
        TOP + (1.0 - (y - self.y0) / (self.y1 - self.y0)) * self.ph
    }

    fn area(&self) -> Rect {
        Rect {
            x0: LEFT,
            y0: TOP,
            x1: LEFT + self.pw,
            y1: TOP + self.ph,
        }
    }
}

/// A round tick step (1, 2, 2.5 or 5 times a power of ten) giving about `target` intervals.
pub fn nice_step(range: f64, target: f64) -> f64 {
    let raw = (range / target).max(1e-12);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw * 0.999)
        .unwrap_or(10.0 * magnitude)
}

/// `value` printed with as many decimals as `step` needs.
pub fn tick_label(value: f64, step: f64) -> String {
    let mut decimals = 0;
    while decimals < 4
        && ((step * 10f64.powi(decimals)).round() - step * 10f64.powi(decimals)).abs() > 1e-6
    {
        decimals += 1;
    }
    format!("{value:.*}", decimals as usize)
}

/// Log-axis ticks: 1, 2 and 5 times the powers of ten within `[x0, x1]` (logarithms).
fn log_ticks(x0: f64, x1: f64) -> Vec<(f64, String)> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powf(x0.floor());
    while decade.log10() <= x1 + 1e-9 {
        for m in [1.0, 2.0, 5.0] {
            let v = decade * m;
            if v.log10() >= x0 - 1e-9 && v.log10() <= x1 + 1e-9 {
                ticks.push((v, tick_label(v, decade.min(1.0))));
            }
        }
        decade *= 10.0;
    }
    ticks
}

impl Chart {
    /// The chart as an SVG document of `width` x `height` (plus the notes).
    pub fn render(&self, width: f64, height: f64) -> String {
        let total = height + self.notes.len() as f64 * NOTE_LINE;
        let frame = self.frame(width, height);
        let mut svg = Svg::new(width, total);
        svg.text(
            LEFT + frame.pw / 2.0,
            24.0,
            16.0,
            Anchor::Middle,
            &self.title,
        );
        self.draw_axes(&mut svg, &frame, height);
        self.draw_series(&mut svg, &frame);
        for (i, note) in self.notes.iter().enumerate() {
            let y = height + 4.0 + i as f64 * NOTE_LINE;
            svg.text(12.0, y, 10.5, Anchor::Start, note);
        }
        svg.finish()
    }

    /// The plot area; the y range padded out to round ticks, the x range padded by 5%.
    fn frame(&self, width: f64, height: f64) -> Frame {
        let points = self.series.iter().flat_map(|s| &s.points);
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (x, y, _) in points {
            let x = scale(self.log_x, *x);
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(*y), y1.max(*y));
        }
        let xpad = ((x1 - x0) * 0.05).max(1e-6);
        let y_step = nice_step(y1 - y0, 5.0);
        Frame {
            pw: width - LEFT - self.legend_width,
            ph: height - TOP - BOTTOM,
            x0: x0 - xpad,
            x1: x1 + xpad,
            y0: ((y0 - 0.02 * (y1 - y0)) / y_step).floor() * y_step,
            y1: ((y1 + 0.02 * (y1 - y0)) / y_step).ceil() * y_step,
            y_step,
            log_x: self.log_x,
        }
    }

    /// The x ticks: the chart's own, round numbers on a linear axis, 1-2-5 on a log axis.
    fn x_ticks(&self, f: &Frame) -> Vec<(f64, String)> {
        if let Some(ticks) = &self.x_ticks {
            return ticks.clone();
        }
        if self.log_x {
            return log_ticks(f.x0, f.x1);
        }
        let step = nice_step(f.x1 - f.x0, 7.0);
        let first = (f.x0 / step).ceil() as i64;
        let last = (f.x1 / step).floor() as i64;
        (first..=last)
            .map(|i| (i as f64 * step, tick_label(i as f64 * step, step)))
            .collect()
    }

    fn draw_axes(&self, svg: &mut Svg, f: &Frame, height: f64) {
        let (pw, ph) = (f.pw, f.ph);
        let mut y = f.y0;
        while y <= f.y1 + f.y_step * 1e-6 {
            let py = f.py(y);
            svg.line(LEFT, py, LEFT + pw, py, "#eeeeee", 1.0);
            svg.line(LEFT - 4.0, py, LEFT, py, "#333333", 1.0);
            let label = tick_label(y, f.y_step);
            svg.text(LEFT - 8.0, py + 4.0, 11.0, Anchor::End, &label);
            y += f.y_step;
        }
        for (x, label) in self.x_ticks(f) {
            let px = f.px(x);
            svg.line(px, TOP + ph, px, TOP + ph + 4.0, "#333333", 1.0);
            svg.text(px, TOP + ph + 18.0, 11.0, Anchor::Middle, &label);
        }
        svg.line(LEFT, TOP + ph, LEFT + pw, TOP + ph, "#333333", 1.0);
        svg.line(LEFT, TOP, LEFT, TOP + ph, "#333333", 1.0);
        let x_label_y = height - 14.0;
        svg.text(
            LEFT + pw / 2.0,
            x_label_y,
            13.0,
            Anchor::Middle,
            &self.x_label,
        );
        svg.text(LEFT - 50.0, TOP - 12.0, 12.0, Anchor::Start, &self.y_label);
    }

    /// Lines first, then markers, then labels placed around everything drawn; the legend.
    fn draw_series(&self, svg: &mut Svg, f: &Frame) {
        let mut placer = Placer::new(f.area());
        let drawn: Vec<Vec<(f64, f64)>> = self
            .series
            .iter()
            .map(|s| {
                s.points
                    .iter()
                    .map(|(x, y, _)| (f.px(*x), f.py(*y)))
                    .collect()
            })
            .collect();
        for (s, pts) in self.series.iter().zip(&drawn) {
            if s.line != Line::None {
                svg.polyline(pts, s.colour, s.line == Line::Dashed);
                placer.block_line(pts);
            }
        }
        for (s, pts) in self.series.iter().zip(&drawn) {
            for &(x, y) in pts {
                draw_marker(svg, s.marker, x, y, s.colour);
                if s.marker != Marker::None {
                    placer.block(Rect {
                        x0: x - 4.5,
                        y0: y - 4.5,
                        x1: x + 4.5,
                        y1: y + 4.5,
                    });
                }
            }
        }
        for (s, pts) in self.series.iter().zip(&drawn) {
            for (&(x, y), (_, _, label)) in pts.iter().zip(&s.points) {
                if label.is_empty() {
                    continue;
                }
                let spot = placer.place((x, y), 10.0, label);
                if spot.leader {
                    let (lx, ly) = spot.rect.nearest((x, y));
                    svg.line(x, y, lx, ly, "#999999", 0.8);
                }
                svg.text(spot.x, spot.y, 10.0, spot.anchor, label);
            }
        }
        self.draw_legend(svg, f);
    }

    fn draw_legend(&self, svg: &mut Svg, f: &Frame) {
        let x = LEFT + f.pw + 18.0;
        for (i, s) in self.series.iter().enumerate() {
            let y = TOP + 10.0 + 20.0 * i as f64;
            if s.line != Line::None {
                svg.polyline(
                    &[(x - 8.0, y - 4.0), (x + 8.0, y - 4.0)],
                    s.colour,
                    s.line == Line::Dashed,
                );
            }
            draw_marker(svg, s.marker, x, y - 4.0, s.colour);
            svg.text(x + 14.0, y, 11.5, Anchor::Start, &s.label);
        }
    }
}

fn draw_marker(svg: &mut Svg, marker: Marker, x: f64, y: f64, colour: &str) {
    match marker {
        Marker::None => {}
        Marker::Circle => svg.circle(x, y, 4.0, colour),
        Marker::Square => svg.square(x, y, 3.5, colour),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(12.2, 5.0), 2.5);
        assert_eq!(nice_step(2.3, 5.0), 0.5);
        assert_eq!(nice_step(97.0, 5.0), 20.0);
        assert_eq!(nice_step(0.9, 5.0), 0.2);
    }

    #[test]
    fn tick_labels_have_the_decimals_of_their_step() {
        assert_eq!(tick_label(77.5, 2.5), "77.5");
        assert_eq!(tick_label(80.0, 2.0), "80");
        assert_eq!(tick_label(0.4, 0.2), "0.4");
        assert_eq!(tick_label(0.5, 1.0), "0");
    }

    #[test]
    fn log_ticks_are_one_two_five() {
        let ticks: Vec<String> = log_ticks(-0.5, 1.5).into_iter().map(|t| t.1).collect();
        assert_eq!(ticks, ["0.5", "1", "2", "5", "10", "20"]);
    }

    #[test]
    fn the_y_range_ends_on_ticks() {
        let chart = Chart {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            log_x: false,
            series: vec![Series {
                label: String::new(),
                colour: "#000",
                points: vec![(0.0, 74.3, String::new()), (1.0, 86.5, String::new())],
                line: Line::Solid,
                marker: Marker::Circle,
            }],
            x_ticks: None,
            notes: Vec::new(),
            legend_width: 100.0,
        };
        let f = chart.frame(600.0, 400.0);
        assert_eq!((f.y0, f.y1, f.y_step), (72.5, 87.5, 2.5));
    }
}
