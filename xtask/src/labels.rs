//! Point labels that do not overlap: each label takes the first free spot around its point,
//! free of other labels, markers and the chart's lines; a label placed away from its point
//! gets a leader line.

use crate::svg::Anchor;

/// An axis-aligned box in drawing coordinates.
#[derive(Clone, Copy, Debug)]
pub struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Rect {
    fn overlap(&self, other: &Rect) -> f64 {
        let w = self.x1.min(other.x1) - self.x0.max(other.x0);
        let h = self.y1.min(other.y1) - self.y0.max(other.y0);
        if w > 0.0 && h > 0.0 { w * h } else { 0.0 }
    }

    fn contains(&self, (x, y): (f64, f64)) -> bool {
        x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1
    }

    /// Whether the segment `a`–`b` passes through the box (sampled every 2 px).
    fn crosses(&self, a: (f64, f64), b: (f64, f64)) -> bool {
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let steps = (len / 2.0).ceil().max(1.0) as usize;
        (0..=steps).any(|i| {
            let t = i as f64 / steps as f64;
            self.contains((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)))
        })
    }

    /// The point of the box's outline nearest to `p`.
    pub fn nearest(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (x.clamp(self.x0, self.x1), y.clamp(self.y0, self.y1))
    }
}

/// The box of `text` at font `size` drawn at baseline `(x, y)` with `anchor` (an estimate:
/// 0.6 em per character, which covers the sans-serif fonts browsers pick).
pub fn text_box(x: f64, y: f64, size: f64, anchor: Anchor, text: &str) -> Rect {
    let w = 0.6 * size * text.chars().count() as f64;
    let x0 = match anchor {
        Anchor::Start => x,
        Anchor::Middle => x - w / 2.0,
        Anchor::End => x - w,
    };
    Rect {
        x0,
        y0: y - 0.8 * size,
        x1: x0 + w,
        y1: y + 0.25 * size,
    }
}

/// A placed label: baseline position, anchor and box.
pub struct Placed {
    pub x: f64,
    pub y: f64,
    pub anchor: Anchor,
    pub rect: Rect,
    /// Whether it sits far enough from its point to need a leader line.
    pub leader: bool,
}

/// Places labels one after another, avoiding what is already there.
pub struct Placer {
    bounds: Rect,
    taken: Vec<Rect>,
    segments: Vec<((f64, f64), (f64, f64))>,
}

impl Placer {
    /// Labels stay inside `bounds`.
    pub fn new(bounds: Rect) -> Self {
        Self {
            bounds,
            taken: Vec::new(),
            segments: Vec::new(),
        }
    }

    /// Something labels must not cover (a marker, a legend).
    pub fn block(&mut self, rect: Rect) {
        self.taken.push(rect);
    }

    /// A line labels must not cross.
    pub fn block_line(&mut self, points: &[(f64, f64)]) {
        self.segments
            .extend(points.windows(2).map(|pair| (pair[0], pair[1])));
    }

    /// How much a label at `rect` collides: covered area, plus a penalty per crossed line
    /// and for leaving the bounds.
    fn cost(&self, rect: &Rect) -> f64 {
        let covered: f64 = self.taken.iter().map(|t| t.overlap(rect)).sum();
        let crossed = self
            .segments
            .iter()
            .filter(|(a, b)| rect.crosses(*a, *b))
            .count() as f64;
        let outside = rect.x0 < self.bounds.x0
            || rect.x1 > self.bounds.x1
            || rect.y0 < self.bounds.y0
            || rect.y1 > self.bounds.y1;
        covered + 40.0 * crossed + if outside { 1e6 } else { 0.0 }
    }

    /// The best spot for `text` (font `size`) around the point `(px, py)`: the first free one
    /// going outwards, else the least crowded; the spot is then taken.
    pub fn place(&mut self, (px, py): (f64, f64), size: f64, text: &str) -> Placed {
        let mut best: Option<(f64, Placed)> = None;
        for distance in [5.0, 10.0, 18.0, 28.0, 40.0] {
            for (dx, dy, anchor) in directions(distance, size) {
                let (x, y) = (px + dx, py + dy);
                let rect = text_box(x, y, size, anchor, text);
                let cost = self.cost(&rect);
                let candidate = Placed {
                    x,
                    y,
                    anchor,
                    rect,
                    leader: distance > 10.0,
                };
                if cost == 0.0 {
                    self.taken.push(rect);
                    return candidate;
                }
                if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                    best = Some((cost, candidate));
                }
            }
        }
        let (_, placed) = best.expect("at least one candidate spot");
        self.taken.push(placed.rect);
        placed
    }
}

/// Label positions (baseline offsets and anchor) around a point at `d` px, right first.
fn directions(d: f64, size: f64) -> [(f64, f64, Anchor); 8] {
    let below = d + 0.8 * size;
    [
        (d, -d, Anchor::Start),
        (d, below, Anchor::Start),
        (-d, -d, Anchor::End),
        (-d, below, Anchor::End),
        (d + 2.0, 0.35 * size, Anchor::Start),
        (-d - 2.0, 0.35 * size, Anchor::End),
        (0.0, -d - 2.0, Anchor::Middle),
        (0.0, below + 2.0, Anchor::Middle),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> Rect {
        Rect {
            x0: 0.0,
            y0: 0.0,
            x1: 400.0,
            y1: 300.0,
        }
    }

    #[test]
    fn labels_of_nearby_points_do_not_overlap() {
        let mut placer = Placer::new(bounds());
        let points = [
            (200.0, 150.0),
            (203.0, 151.0),
            (205.0, 149.0),
            (201.0, 153.0),
        ];
        for p in points {
            placer.block(Rect {
                x0: p.0 - 4.0,
                y0: p.1 - 4.0,
                x1: p.0 + 4.0,
                y1: p.1 + 4.0,
            });
        }
        let placed: Vec<Rect> = points
            .iter()
            .map(|p| placer.place(*p, 10.0, "V2-B1").rect)
            .collect();
        for (i, a) in placed.iter().enumerate() {
            for b in &placed[i + 1..] {
                assert_eq!(a.overlap(b), 0.0, "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn a_label_avoids_a_line_through_its_first_spot() {
        let mut placer = Placer::new(bounds());
        // A line running up-right from the point, through the default (upper right) spot.
        placer.block_line(&[(100.0, 100.0), (200.0, 0.0)]);
        let placed = placer.place((100.0, 100.0), 10.0, "B4");
        assert!(!placed.rect.crosses((100.0, 100.0), (200.0, 0.0)));
    }

    #[test]
    fn labels_stay_inside_the_bounds() {
        let mut placer = Placer::new(bounds());
        let placed = placer.place((398.0, 2.0), 10.0, "EfficientNet-B7");
        let r = placed.rect;
        assert!(r.x0 >= 0.0 && r.x1 <= 400.0 && r.y0 >= 0.0 && r.y1 <= 300.0);
    }
}
