//! Block diagrams: MBConv and Fused-MBConv as tensors (bars as wide as their channel count,
//! labelled with their shape) and the operations between them, and squeeze-and-excitation.

use efficientnet::arch::{BlockKind, BlockPlan};

use crate::svg::{Anchor, Svg};

/// One row of a block diagram, top to bottom.
enum Row {
    /// An activation: channels and side.
    Tensor(usize, usize),
    /// An operation: name, detail, fill colour.
    Op(&'static str, String, &'static str),
}

const EXPAND: &str = "#dbe9f6";
const SPATIAL: &str = "#fde2c8";
const GATE: &str = "#e3f1dc";
const OTHER: &str = "#eeeeee";

/// A block's input, expanded and output channels, kernel size and stride.
fn dims(block: &BlockPlan) -> (usize, usize, usize, usize, usize) {
    let b = block;
    (
        b.in_channels,
        b.mid_channels,
        b.out_channels,
        b.kernel,
        b.stride,
    )
}

/// MBConv's rows from its input of `side` px: expansion (if any), depthwise, SE (if any),
/// projection.
fn mbconv_rows(block: &BlockPlan, side: usize) -> Vec<Row> {
    let (cin, mid, cout, k, s) = dims(block);
    let out = side.div_ceil(s);
    let mut rows = vec![Row::Tensor(cin, side)];
    if block.has_expansion() {
        let detail = format!("expand {cin} -> {mid} channels ({}x wider)", mid / cin);
        rows.push(Row::Op("1x1 conv, BN, SiLU", detail, EXPAND));
        rows.push(Row::Tensor(mid, side));
    }
    let detail = format!("{k}x{k}, stride {s}, one filter per channel, mixes pixels only");
    rows.push(Row::Op("depthwise conv, BN, SiLU", detail, SPATIAL));
    rows.push(Row::Tensor(mid, out));
    if let Some(se) = block.se_channels {
        let detail = format!("mean over pixels, {mid} -> {se} -> {mid}, sigmoid, x * gate");
        rows.push(Row::Op("squeeze-and-excitation", detail, GATE));
        rows.push(Row::Tensor(mid, out));
    }
    let detail = format!("project {mid} -> {cout} channels (linear bottleneck)");
    rows.push(Row::Op("1x1 conv, BN, no activation", detail, EXPAND));
    rows.push(Row::Tensor(cout, out));
    rows
}

/// Fused-MBConv's rows: the dense kxk convolution, then a projection if it widened.
fn fused_rows(block: &BlockPlan, side: usize) -> Vec<Row> {
    let (cin, mid, cout, k, s) = dims(block);
    let out = side.div_ceil(s);
    let detail = format!("{k}x{k}, stride {s}, {cin} -> {mid} channels, mixes pixels and channels");
    let mut rows = vec![
        Row::Tensor(cin, side),
        Row::Op("full conv, BN, SiLU", detail, SPATIAL),
        Row::Tensor(mid, out),
    ];
    if mid != cout {
        let detail = format!("project {mid} -> {cout} channels (linear bottleneck)");
        rows.push(Row::Op("1x1 conv, BN, no activation", detail, EXPAND));
        rows.push(Row::Tensor(cout, out));
    }
    rows
}

/// Canvas width, the column's centre, and the sizes of rows.
const WIDTH: f64 = 680.0;
const CX: f64 = 230.0;
const TENSOR_H: f64 = 26.0;
/// An operation is an arrow this long with its name and detail beside it.
const OP_H: f64 = 50.0;
/// Bar width of a tensor with no channels and with the widest channel count.
const BAR_MIN: f64 = 96.0;
const BAR_SPAN: f64 = 320.0;

fn row_height(row: &Row) -> f64 {
    match row {
        Row::Tensor(..) => TENSOR_H,
        Row::Op(..) => OP_H,
    }
}

fn bar_width(channels: usize, widest: usize) -> f64 {
    BAR_MIN + BAR_SPAN * channels as f64 / widest as f64
}

/// A tensor as a bar as wide as its channels, labelled with its shape, centred at `y`.
fn draw_tensor(svg: &mut Svg, (channels, side): (usize, usize), widest: usize, y: f64) {
    let w = bar_width(channels, widest);
    svg.rect(
        CX - w / 2.0,
        y - TENSOR_H / 2.0,
        w,
        TENSOR_H,
        "#ece7f5",
        "#5b4a8a",
    );
    let shape = format!("[N, {channels}, {side}, {side}]");
    svg.text(CX, y + 4.5, 12.0, Anchor::Middle, &shape);
}

/// An operation from `y` down: the arrow, a colour key, its name and detail beside it.
fn draw_op(svg: &mut Svg, (label, detail, fill): (&str, &str, &str), y: f64) {
    svg.arrow(CX, y + 2.0, CX, y + OP_H - 2.0);
    svg.rect(CX + 14.0, y + 11.0, 12.0, 12.0, fill, "#555555");
    svg.text(CX + 32.0, y + 22.0, 13.0, Anchor::Start, label);
    svg.text(CX + 32.0, y + 38.0, 11.0, Anchor::Start, detail);
}

/// A block as tensors (bars as wide as their channels) and the operations between them; a
/// residual block also shows stochastic depth and the identity path.
pub fn block_diagram(title: &str, block: &BlockPlan, side: usize) -> String {
    let mut rows = match block.kind {
        BlockKind::MbConv => mbconv_rows(block, side),
        BlockKind::FusedMbConv => fused_rows(block, side),
    };
    let residual = block.has_residual();
    if residual {
        let detail = format!(
            "training only: drop the branch per sample, p = {:.3}",
            block.drop_path
        );
        rows.push(Row::Op("stochastic depth, then + input", detail, OTHER));
    }
    let widest = block
        .mid_channels
        .max(block.in_channels)
        .max(block.out_channels);
    let body: f64 = rows.iter().map(row_height).sum();
    let height = 70.0
        + body
        + if residual {
            26.0 + OP_H / 2.0 + TENSOR_H
        } else {
            0.0
        }
        + 20.0;
    let mut svg = Svg::new(WIDTH, height);
    svg.text(WIDTH / 2.0, 26.0, 16.0, Anchor::Middle, title);
    let note = "bar width = channels: narrow in, wide inside, narrow out";
    svg.text(WIDTH / 2.0, 44.0, 11.0, Anchor::Middle, note);
    let mut y = 62.0;
    for row in &rows {
        match row {
            Row::Tensor(c, s) => draw_tensor(&mut svg, (*c, *s), widest, y + TENSOR_H / 2.0),
            Row::Op(label, detail, fill) => draw_op(&mut svg, (label, detail, fill), y),
        }
        y += row_height(row);
    }
    if residual {
        let out = rows.iter().rev().find_map(|row| match row {
            Row::Tensor(c, s) => Some((*c, *s)),
            Row::Op(..) => None,
        });
        let out = out.expect("a block has tensors");
        draw_residual(&mut svg, (block.in_channels, out), widest, y);
    }
    svg.finish()
}

/// The `+` at `y` (top), the identity from the input bar (`cin` channels) into it, and the
/// output bar (`out`: channels, side) below.
fn draw_residual(svg: &mut Svg, (cin, out): (usize, (usize, usize)), widest: usize, y: f64) {
    let plus = y + 13.0;
    svg.ring(CX, plus, 13.0);
    svg.text(CX, plus + 6.0, 18.0, Anchor::Middle, "+");
    let skip_x = WIDTH - 40.0;
    let input_y = 62.0 + TENSOR_H / 2.0;
    let input_right = CX + bar_width(cin, widest) / 2.0;
    svg.line(input_right, input_y, skip_x, input_y, "#444", 1.5);
    svg.line(skip_x, input_y, skip_x, plus, "#444", 1.5);
    svg.arrow(skip_x, plus, CX + 13.0, plus);
    svg.text(skip_x - 6.0, input_y - 6.0, 12.0, Anchor::End, "identity");
    let out_top = plus + 13.0 + OP_H / 2.0;
    svg.arrow(CX, plus + 13.0, CX, out_top);
    draw_tensor(svg, out, widest, out_top + TENSOR_H / 2.0);
}

/// Squeeze-and-excitation on `block`'s channels (`side`: the block's input side).
pub fn se_diagram(block: &BlockPlan, side: usize) -> String {
    let (mid, se) = (block.mid_channels, block.se_channels.unwrap_or(1));
    let side = side.div_ceil(block.stride);
    let mut svg = Svg::new(860.0, 250.0);
    svg.text(
        430.0,
        24.0,
        16.0,
        Anchor::Middle,
        "Squeeze-and-excitation (Hu et al., 2018) as in EfficientNet",
    );
    let y = 80.0;
    let xs = [85.0, 255.0, 425.0, 595.0, 765.0];
    let boxes = [
        ("x", format!("[N, {mid}, {side}, {side}]"), "#ffffff"),
        ("global mean", format!("[N, {mid}, 1, 1]"), GATE),
        ("1x1 conv, SiLU", format!("{mid} -> {se}"), EXPAND),
        ("1x1 conv, sigmoid", format!("{se} -> {mid}"), EXPAND),
    ];
    for (x, (label, detail, fill)) in xs.iter().zip(&boxes) {
        svg.node((*x, y), (150.0, 46.0), fill, label, detail);
    }
    let gated = format!("[N, {mid}, {side}, {side}]");
    svg.node(
        (xs[4], y + 110.0),
        (150.0, 46.0),
        SPATIAL,
        "x * gate",
        &gated,
    );
    for i in 0..3 {
        svg.arrow(xs[i] + 75.0, y, xs[i + 1] - 75.0, y);
    }
    svg.arrow(xs[3], y + 23.0, xs[4] - 30.0, y + 110.0 - 23.0);
    svg.line(xs[0], y + 23.0, xs[0], y + 110.0, "#444", 1.5);
    svg.arrow(xs[0], y + 110.0, xs[4] - 75.0, y + 110.0);
    svg.text(
        430.0,
        y + 150.0,
        12.0,
        Anchor::Middle,
        &format!(
            "squeeze width = 1/4 of the block's input channels ({se}), not of the expanded {mid}"
        ),
    );
    svg.finish()
}
