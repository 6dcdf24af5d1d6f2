//! A horizontal grouped bar chart: one group of bars per row label, each bar with its value
//! printed after it and an optional whisker for the spread of repeated measurements.

use crate::labels::text_box;
use crate::svg::{Anchor, Svg};

/// One bar.
pub struct Bar {
    pub value: f64,
    pub colour: &'static str,
    /// Printed after the bar (or its whisker).
    pub text: String,
    /// Lowest and highest of repeated measurements, drawn as a whisker.
    pub spread: Option<(f64, f64)>,
}

/// The bars of one row label.
pub struct Group {
    pub label: String,
    pub bars: Vec<Bar>,
}

/// A bar chart.
pub struct BarChart {
    pub title: String,
    /// Lines of small print under the title.
    pub subtitle: Vec<String>,
    pub groups: Vec<Group>,
    /// Legend entries: colour and what it stands for.
    pub legend: Vec<(&'static str, String)>,
    /// Width of the row-label column.
    pub label_width: f64,
    /// Room kept right of the longest bar for its text.
    pub text_room: f64,
}

const BAR: f64 = 15.0;
const GAP: f64 = 14.0;

impl BarChart {
    /// The chart as an SVG document `width` wide (its height follows from the bars).
    pub fn render(&self, width: f64) -> String {
        let head = 40.0 + 15.0 * self.subtitle.len() as f64 + 22.0;
        let rows: f64 = self
            .groups
            .iter()
            .map(|g| g.bars.len() as f64 * BAR + GAP)
            .sum();
        let height = head + rows + 16.0;
        let max = self
            .groups
            .iter()
            .flat_map(|g| &g.bars)
            .map(|b| b.spread.map_or(b.value, |s| s.1.max(b.value)))
            .fold(0.0, f64::max)
            .max(1e-9);
        let left = self.label_width;
        let scale = (width - left - self.text_room) / max;
        let mut svg = Svg::new(width, height);
        svg.text(width / 2.0, 24.0, 16.0, Anchor::Middle, &self.title);
        for (i, line) in self.subtitle.iter().enumerate() {
            svg.text(
                width / 2.0,
                42.0 + 15.0 * i as f64,
                11.0,
                Anchor::Middle,
                line,
            );
        }
        self.draw_legend(&mut svg, width, head - 12.0);
        let mut y = head;
        for group in &self.groups {
            let middle = y + group.bars.len() as f64 * BAR / 2.0 + 4.0;
            svg.text(left - 10.0, middle, 12.0, Anchor::End, &group.label);
            for bar in &group.bars {
                draw_bar(&mut svg, bar, (left, y), scale);
                y += BAR;
            }
            y += GAP;
        }
        svg.finish()
    }

    /// The legend in one row, centred.
    fn draw_legend(&self, svg: &mut Svg, width: f64, y: f64) {
        let widths: Vec<f64> = self
            .legend
            .iter()
            .map(|(_, text)| {
                let label = text_box(0.0, 0.0, 11.0, Anchor::Start, text);
                22.0 + label.x1 - label.x0
            })
            .collect();
        let mut x = (width - widths.iter().sum::<f64>()) / 2.0;
        for ((colour, text), w) in self.legend.iter().zip(widths) {
            svg.rect(x, y - 10.0, 12.0, 12.0, colour, "none");
            svg.text(x + 17.0, y, 11.0, Anchor::Start, text);
            x += w;
        }
    }
}

/// One bar at `(left, y)` with its whisker and text.
fn draw_bar(svg: &mut Svg, bar: &Bar, (left, y): (f64, f64), scale: f64) {
    svg.rect(
        left,
        y + 1.0,
        bar.value * scale,
        BAR - 2.0,
        bar.colour,
        "none",
    );
    let mut end = left + bar.value * scale;
    if let Some((lo, hi)) = bar.spread {
        let (x0, x1, cy) = (left + lo * scale, left + hi * scale, y + BAR / 2.0);
        svg.line(x0, cy, x1, cy, "#222222", 1.2);
        svg.line(x0, cy - 4.0, x0, cy + 4.0, "#222222", 1.2);
        svg.line(x1, cy - 4.0, x1, cy + 4.0, "#222222", 1.2);
        end = end.max(x1);
    }
    svg.text(end + 6.0, y + BAR - 3.5, 11.0, Anchor::Start, &bar.text);
}
