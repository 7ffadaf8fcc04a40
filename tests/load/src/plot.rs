//! The latency distribution of every target in one SVG: latency against percentile, the
//! percentile axis stretched towards the tail (`1 / (1 - p)` on a log scale, as HdrHistogram
//! plots do) so that p99 and p99.9 are as readable as the median. Written by hand: a few
//! polylines need no plotting library.

use std::fmt::Write;

use crate::run::{Load, Measured};

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 520.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
const COLOURS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
/// The last percentile plotted: 99.99 (four nines).
const NINES: f64 = 4.0;

/// x in [0, 1]: how many nines the percentile has, out of NINES.
fn x_of(percentile: f64) -> f64 {
    let tail = (1.0 - percentile / 100.0).max(10f64.powf(-NINES));
    (-tail.log10() / NINES).clamp(0.0, 1.0)
}

pub fn svg(results: &[Measured], load: &Load) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let top_us = results.iter().map(|r| r.latency.value_at_percentile(99.99)).max().unwrap_or(1).max(1) as f64 * 1.1;
    let px = |percentile: f64| LEFT + x_of(percentile) * plot_w;
    let py = |us: f64| TOP + plot_h - (us / top_us).min(1.0) * plot_h;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15">Latency by percentile: {} clients, {:.0} s per target</text>"#,
        WIDTH / 2.0,
        load.clients,
        load.duration.as_secs_f64()
    );
    // Axes and grid.
    for (p, label) in [(0.0, "0%"), (90.0, "90%"), (99.0, "99%"), (99.9, "99.9%"), (99.99, "99.99%")] {
        let x = px(p);
        let _ = writeln!(s, r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/>"##, TOP + plot_h);
        let _ = writeln!(s, r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#, TOP + plot_h + 18.0);
    }
    for i in 0..=5 {
        let us = top_us * f64::from(i) / 5.0;
        let y = py(us);
        let _ = writeln!(s, r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/>"##, LEFT + plot_w);
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{us:.0}</text>"#, LEFT - 6.0, y + 4.0);
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 14.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">latency (µs)</text>"#,
        TOP + plot_h / 2.0
    );
    // One line per target, sampled evenly along the stretched axis.
    for (i, r) in results.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = (0..=200)
            .map(|k| {
                let nines = NINES * f64::from(k) / 200.0;
                let percentile = 100.0 * (1.0 - 10f64.powf(-nines));
                let us = r.latency.value_at_percentile(percentile) as f64;
                format!("{:.1},{:.1}", px(percentile), py(us))
            })
            .collect();
        let _ =
            writeln!(s, r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#, points.join(" "));
        let y = TOP + 16.0 + 18.0 * i as f64;
        let _ =
            writeln!(s, r#"<rect x="{:.1}" y="{:.1}" width="14" height="4" fill="{colour}"/>"#, LEFT + 12.0, y - 4.0);
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{y:.1}">{}: {:.0} requests/s, p50 {} µs, p99 {} µs</text>"#,
            LEFT + 32.0,
            escape(&r.target.label()),
            r.per_second(),
            r.latency.value_at_percentile(50.0),
            r.latency.value_at_percentile(99.0)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::x_of;

    #[test]
    fn the_percentile_axis_gives_each_nine_equal_room() {
        assert_eq!(x_of(0.0), 0.0);
        assert!((x_of(90.0) - 0.25).abs() < 1e-9);
        assert!((x_of(99.0) - 0.5).abs() < 1e-9);
        assert!((x_of(99.99) - 1.0).abs() < 1e-9);
    }
}
