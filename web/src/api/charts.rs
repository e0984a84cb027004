//! The reports' charts, drawn here as SVG: a bar chart of conversations in per hour (or day)
//! and one of waiting times by band. No chart library: a few bars, their labels and an
//! accessible name (`role="img"`, `<title>`, `<desc>`, a `<title>` per bar with its value)
//! are a page of code that a test can measure, and the inbox stays free of front-end
//! dependencies. Every text is escaped.

use deflect_chat::{Volume, WAIT_BANDS};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;

/// The plot's height: what the largest bar is tall.
pub(crate) const PLOT_HEIGHT: f64 = HEIGHT - TOP - BOTTOM;

/// `s` safe in SVG text and attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A bar chart named `title` (and described by `desc`) of `bars` (label, value), labelling
/// at most about 12 of them below the axis; `unit` names what is counted.
pub(crate) fn bars(title: &str, desc: &str, unit: &str, bars: &[(String, i64)]) -> String {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let n = bars.len().max(1);
    let slot = (WIDTH - LEFT - RIGHT) / n as f64;
    let gap = (slot * 0.15).min(4.0);
    let every = n.div_ceil(12);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         role=\"img\" aria-labelledby=\"chart-title chart-desc\" font-family=\"sans-serif\" \
         font-size=\"11\"><title id=\"chart-title\">{}</title><desc id=\"chart-desc\">{}</desc>",
        escape(title),
        escape(desc)
    );
    let base = TOP + PLOT_HEIGHT;
    out.push_str(&format!(
        "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"currentColor\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max}</text>\
         <text x=\"{}\" y=\"{base}\" text-anchor=\"end\">0</text>",
        WIDTH - RIGHT,
        LEFT - 4.0,
        TOP + 8.0,
        LEFT - 4.0,
    ));
    for (i, (label, value)) in bars.iter().enumerate() {
        let h = (*value).max(0) as f64 / max as f64 * PLOT_HEIGHT;
        let x = LEFT + i as f64 * slot + gap / 2.0;
        out.push_str(&format!(
            "<rect class=\"bar\" x=\"{x:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{h:.2}\" \
             fill=\"#3b6ea8\"><title>{}: {value} {}</title></rect>",
            base - h,
            (slot - gap).max(0.5),
            escape(label),
            escape(unit),
        ));
        if i % every == 0 {
            out.push_str(&format!(
                "<text x=\"{:.2}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + (slot - gap) / 2.0,
                base + 14.0,
                escape(label)
            ));
        }
    }
    out.push_str("</svg>");
    out
}

/// The volume chart: conversations in per slice, labelled in `offset_seconds`' local time
/// (the offset of the period's `from`).
pub(crate) fn volume(v: &Volume, offset_seconds: i64) -> String {
    let hourly = v.slice_seconds < 86_400;
    let format = if hourly { "%m-%d %H:%M" } else { "%Y-%m-%d" };
    let bars: Vec<(String, i64)> = (v.counts.iter().enumerate())
        .map(|(i, n)| {
            let at = v.from + (i as i64 * v.slice_seconds + offset_seconds) * 1000;
            let label = jiff::Timestamp::from_millisecond(at)
                .map(|t| t.strftime(format).to_string())
                .unwrap_or_default();
            (label, *n)
        })
        .collect();
    let total: i64 = v.counts.iter().sum();
    let per = if hourly { "hour" } else { "day" };
    let desc = format!(
        "{total} conversations came in over {} {per}s{}",
        v.counts.len(),
        match bars.iter().max_by_key(|b| b.1) {
            Some((label, n)) if *n > 0 => format!("; the busiest {per}: {label} with {n}"),
            _ => String::new(),
        }
    );
    self::bars(
        &format!("Conversations in per {per}"),
        &desc,
        "conversations",
        &bars,
    )
}

/// The wait chart's band names, in [`WAIT_BANDS`]' order, then the one beyond.
pub(crate) fn wait_labels() -> Vec<String> {
    let name = |s: i64| {
        if s < 60 {
            format!("{s} s")
        } else if s < 3600 {
            format!("{} min", s / 60)
        } else {
            format!("{} h", s / 3600)
        }
    };
    let mut out = Vec::new();
    let mut lower = 0;
    for s in WAIT_BANDS {
        out.push(if lower == 0 {
            format!("under {}", name(s))
        } else {
            format!("{}–{}", name(lower), name(s))
        });
        lower = s;
    }
    out.push(format!("{} or more", name(lower)));
    out
}

/// The wait chart: conversations by how long they waited for an agent (`counts` per band of
/// [`wait_labels`]).
pub(crate) fn waits(counts: &[i64]) -> String {
    let bars: Vec<(String, i64)> = wait_labels()
        .into_iter()
        .zip(counts.iter().copied())
        .collect();
    let total: i64 = counts.iter().sum();
    let desc = format!(
        "{total} conversations taken by an agent: {}",
        bars.iter()
            .map(|(l, n)| format!("{l}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    self::bars(
        "Waiting time until an agent took it",
        &desc,
        "conversations",
        &bars,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heights(svg: &str) -> Vec<f64> {
        svg.split("<rect class=\"bar\"")
            .skip(1)
            .map(|r| {
                let h = r.split("height=\"").nth(1).unwrap_or_default();
                h[..h.find('"').unwrap_or(0)].parse().unwrap_or(-1.0)
            })
            .collect()
    }

    #[test]
    fn one_bar_per_value_as_tall_as_its_share_of_the_largest() {
        let svg = bars(
            "t",
            "d",
            "things",
            &[("a".into(), 4), ("b".into(), 2), ("c".into(), 0)],
        );
        let h = heights(&svg);
        assert_eq!(h.len(), 3);
        assert!((h[0] - PLOT_HEIGHT).abs() < 0.01, "{h:?}");
        assert!((h[1] - PLOT_HEIGHT / 2.0).abs() < 0.01, "{h:?}");
        assert_eq!(h[2], 0.0);
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title id=\"chart-title\">t</title>"));
        assert!(svg.contains("<title>b: 2 things</title>"));
        assert!(
            svg.contains(">4</text>"),
            "the axis names the largest value"
        );
    }

    #[test]
    fn text_is_escaped() {
        let svg = bars("<script>&", "\"quoted\"", "x", &[("<b>".into(), 1)]);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;&amp;"));
        assert!(svg.contains("&quot;quoted&quot;"));
        assert!(svg.contains("&lt;b&gt;: 1 x"));
    }

    #[test]
    fn an_empty_chart_draws_flat_bars() {
        let h = heights(&bars("t", "d", "x", &[("a".into(), 0), ("b".into(), 0)]));
        assert_eq!(h, vec![0.0, 0.0]);
        assert!(heights(&bars("t", "d", "x", &[])).is_empty());
    }

    #[test]
    fn volume_labels_slices_in_the_periods_local_time() {
        let v = Volume {
            slice_seconds: 3600,
            from: 1_767_222_000_000, // 2025-12-31T23:00:00Z = 2026-01-01 00:00 at +01:00
            counts: vec![1, 3, 0],
        };
        let svg = volume(&v, 3600);
        assert_eq!(heights(&svg).len(), 3);
        assert!(
            svg.contains("<title>01-01 00:00: 1 conversations</title>"),
            "{svg}"
        );
        assert!(svg.contains("the busiest hour: 01-01 01:00 with 3"));
        let days = Volume {
            slice_seconds: 86_400,
            ..v
        };
        assert!(volume(&days, 0).contains("<title>2025-12-31: 1 conversations</title>"));
    }

    #[test]
    fn the_wait_chart_has_a_bar_per_band() {
        let labels = wait_labels();
        assert_eq!(labels.len(), WAIT_BANDS.len() + 1);
        assert_eq!(labels[0], "under 30 s");
        assert_eq!(labels[1], "30 s–1 min");
        assert_eq!(labels[7], "1 h or more");
        let svg = waits(&[5, 0, 0, 0, 0, 0, 0, 1]);
        let h = heights(&svg);
        assert_eq!(h.len(), 8);
        assert!((h[0] - PLOT_HEIGHT).abs() < 0.01);
        assert!((h[7] - PLOT_HEIGHT / 5.0).abs() < 0.01);
        assert!(svg.contains("6 conversations taken by an agent"));
    }
}
