//! `index.html`: the run on one self-contained page (no scripts, no network), with inline
//! SVG charts: findings by oracle, status codes, throughput and latency over time; every
//! finding with its minimal payload and `curl` line.

use std::fmt::Write as _;

use super::RunReport;
use crate::contract::Level;
use crate::load::{LATENCY_BOUNDS_US, Second};
use crate::target::Oracle;
use crate::text::{plural, xml as esc};

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}\
h1{margin-bottom:.2rem}.verdict{padding:.6rem 1rem;border-radius:6px;font-weight:600}\
.pass{background:#dafbe1}.fail{background:#ffebe9}table{border-collapse:collapse;margin:.5rem 0}\
td,th{padding:.25rem .6rem;border-bottom:1px solid #d0d7de;text-align:left;vertical-align:top}\
td.n{text-align:right;font-variant-numeric:tabular-nums}pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}\
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(30rem,1fr));gap:1rem}\
figure{margin:0;border:1px solid #d0d7de;border-radius:6px;padding:.5rem}figcaption{font-weight:600}\
.error{color:#cf222e}.warning{color:#9a6700}svg text{font:11px system-ui,sans-serif}";

/// The page.
pub fn render(r: &RunReport) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>devices-harness run: {}</title><style>{STYLE}</style></head><body>\n",
        if r.passed { "passed" } else { "failed" }
    );
    let _ = writeln!(
        h,
        "<h1>devices-harness run</h1><p>{} &middot; profile {} &middot; seed {} &middot; budget {:.0} s &middot; took {:.1} s &middot; {}</p>",
        esc(&r.target),
        esc(&r.profile),
        r.seed,
        r.budget_seconds,
        r.duration_seconds,
        esc(&r.tool)
    );
    let _ = writeln!(
        h,
        "<p class=\"verdict {}\">{}: {}, {}</p>",
        if r.passed { "pass" } else { "fail" },
        if r.passed { "Passed" } else { "Failed" },
        plural(r.errors as u64, "error"),
        plural(r.warnings as u64, "warning")
    );
    h.push_str("<table><tr><th>phase</th><th>seconds</th><th>result</th><th>what</th></tr>");
    for p in &r.phases {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{:.1}</td><td>{}</td><td>{}</td></tr>",
            p.name,
            p.seconds,
            if p.passed {
                "ok"
            } else {
                "<b class=\"error\">failed</b>"
            },
            esc(&p.summary)
        );
    }
    h.push_str("</table>\n<p>Also here: <a href=\"summary.md\">summary.md</a>, <a href=\"report.json\">report.json</a>, <a href=\"junit.xml\">junit.xml</a>, <a href=\"load.html\">load.html</a> (goose's report).</p>\n");

    if let Some(why) = &r.check.ended_early {
        let _ = writeln!(h, "<p class=\"verdict fail\">Ended early: {}</p>", esc(why));
    }
    let _ = writeln!(
        h,
        "<h2>Causes ({}, {})</h2>",
        plural(r.check.causes.len() as u64, "cause"),
        plural(r.check.findings.len() as u64, "finding")
    );
    for c in &r.check.causes {
        let links: Vec<String> = c
            .findings
            .iter()
            .map(|f| format!("<a href=\"#{0}\">{0}</a>", esc(f)))
            .collect();
        let _ = writeln!(
            h,
            "<section id=\"{0}\"><h3>{0} {1:?}: {2}</h3><p>findings: {3}</p>",
            esc(&c.id),
            c.kind,
            esc(&c.title),
            links.join(" ")
        );
        if let Some(exit) = &c.exit {
            let _ = writeln!(h, "<p>exit: {}</p>", esc(exit));
        }
        if !c.stderr_tail.is_empty() {
            let _ = writeln!(h, "<pre>{}</pre>", esc(&c.stderr_tail.join("\n")));
        }
        if let Some(rep) = &c.reproduce {
            let _ = writeln!(h, "<pre>{}</pre>", esc(&rep.curl));
        }
        h.push_str("</section>\n");
    }

    h.push_str("<h2>Charts</h2><div class=\"charts\">\n");
    figure(&mut h, "Findings by oracle", &findings_chart(r));
    figure(&mut h, "Status codes", &status_chart(r));
    if let Some(load) = &r.load {
        figure(
            &mut h,
            "Load: throughput (requests/s)",
            &throughput_chart(&load.timeline),
        );
        figure(
            &mut h,
            "Load: latency over time",
            &latency_chart(&load.timeline),
        );
    }
    h.push_str("</div>\n");

    h.push_str("<h2>Oracles</h2><table><tr><th>oracle</th><th>level</th><th>passed</th><th>failed</th><th>skipped</th><th>findings</th><th>what</th></tr>");
    for o in &r.check.oracles {
        let ids: Vec<String> = r
            .check
            .findings_of(o.oracle)
            .map(|f| format!("<a href=\"#{0}\">{0}</a>", f.id))
            .collect();
        let _ = write!(
            h,
            "<tr id=\"oracle-{0}\"><td>{0}</td><td>{1}</td><td class=\"n\">{2}</td><td class=\"n\">{3}</td><td class=\"n\">{4}</td><td>{5}</td><td>{6}</td></tr>",
            o.oracle,
            level_name(o.level),
            o.counts.passed,
            o.counts.failed,
            o.counts.skipped,
            ids.join(" "),
            match &o.reason {
                Some(why) => format!(
                    "<b class=\"error\">not run: {}</b> {}",
                    esc(why),
                    esc(o.description)
                ),
                None => esc(o.description),
            }
        );
    }
    h.push_str("</table>\n");

    let _ = writeln!(h, "<h2>Findings ({})</h2>", r.check.findings.len());
    if r.check.findings.is_empty() {
        h.push_str("<p>None: every check held.</p>\n");
    }
    for f in &r.check.findings {
        let _ = write!(
            h,
            "<section id=\"{id}\"><h3><a href=\"#{id}\">{id}</a> <span class=\"{lvl}\">{lvl}</span> [{}/{}] {}</h3>\
             <p>input: {} ({})<br>expected: {}<br>seen: {}",
            f.oracle,
            esc(&f.rule),
            esc(&f.endpoint),
            esc(&f.class),
            plural(f.occurrences, "time"),
            esc(&f.expected),
            esc(&f.seen),
            id = f.id,
            lvl = level_name(f.level),
        );
        if let Some(case) = &f.case {
            let shrunk = f
                .shrink
                .as_ref()
                .map(|s| format!(", shrunk in {} steps", s.steps))
                .unwrap_or_default();
            let _ = write!(
                h,
                "<br>case: <code>{}</code>{shrunk}",
                esc(&case.to_string())
            );
        }
        h.push_str("</p>");
        let payload = match (&f.reproduce.body, &f.reproduce.body_base64) {
            (Some(b), _) => Some(esc(b)),
            (None, Some(b64)) => Some(format!("(base64) {}", esc(b64))),
            _ if f.reproduce.body_bytes > 0 => Some(format!(
                "({} bytes, made by the curl line)",
                f.reproduce.body_bytes
            )),
            _ => None,
        };
        if let Some(p) = payload {
            let _ = write!(
                h,
                "<p>minimal payload ({} bytes):</p><pre>{p}</pre>",
                f.reproduce.body_bytes
            );
        }
        let _ = write!(h, "<p>curl:</p><pre>{}</pre>", esc(&f.reproduce.curl));
        if let Some(replay) = &f.reproduce.replay {
            let _ = write!(h, "<p>replay: <code>{}</code></p>", esc(replay));
        }
        h.push_str("</section>\n");
    }
    h.push_str("</body></html>\n");
    h
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Off => "off",
    }
}

fn figure(h: &mut String, caption: &str, svg: &str) {
    let _ = writeln!(
        h,
        "<figure><figcaption>{caption}</figcaption>{svg}</figure>"
    );
}

const W: f64 = 480.0;
const H: f64 = 220.0;
const LEFT: f64 = 110.0;

fn svg_open(id: &str, title: &str) -> String {
    format!(
        "<svg id=\"{id}\" role=\"img\" viewBox=\"0 0 {W} {H}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        esc(title)
    )
}

/// Horizontal bars, one per label; each bar linked when it has a link.
fn bars(id: &str, title: &str, rows: &[(String, u64, &str, Option<String>)]) -> String {
    let mut s = svg_open(id, title);
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let step = ((H - 10.0) / rows.len().max(1) as f64).min(22.0);
    for (i, (label, n, color, link)) in rows.iter().enumerate() {
        let y = 5.0 + i as f64 * step;
        let w = (W - LEFT - 60.0) * (*n as f64) / max;
        let bar = format!(
            "<rect x=\"{LEFT}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{}: {n}</title></rect>",
            step * 0.7,
            esc(label)
        );
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            y + step * 0.55,
            esc(label)
        );
        match link {
            Some(href) => {
                let _ = write!(s, "<a href=\"{href}\">{bar}</a>");
            }
            None => s.push_str(&bar),
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\">{n}</text>",
            LEFT + w + 4.0,
            y + step * 0.55
        );
    }
    s.push_str("</svg>");
    s
}

fn findings_chart(r: &RunReport) -> String {
    let rows: Vec<(String, u64, &str, Option<String>)> = Oracle::ALL
        .iter()
        .map(|&o| {
            let findings: Vec<_> = r.check.findings_of(o).collect();
            let errors = findings.iter().filter(|f| f.level == Level::Error).count();
            let color = if errors > 0 {
                "#cf222e"
            } else if findings.is_empty() {
                "#2da44e"
            } else {
                "#bf8700"
            };
            let link = findings.first().map(|f| format!("#{}", f.id));
            (o.name().to_owned(), findings.len() as u64, color, link)
        })
        .collect();
    bars(
        "chart-findings",
        "Findings by oracle (red: errors, amber: warnings only)",
        &rows,
    )
}

fn status_chart(r: &RunReport) -> String {
    let mut rows: Vec<(String, u64, &str, Option<String>)> = Vec::new();
    let color = |code: &str| match code.as_bytes().first() {
        Some(b'2') => "#2da44e",
        Some(b'4') => "#bf8700",
        Some(b'5') => "#cf222e",
        _ => "#6e7781",
    };
    for (code, n) in &r.check.statuses {
        rows.push((format!("check {code}"), *n, color(code), None));
    }
    if let Some(load) = &r.load {
        for (code, n) in &load.report.totals.status_codes {
            rows.push((format!("load {code}"), *n, color(code), None));
        }
    }
    bars("chart-status", "Answers by status code, per phase", &rows)
}

fn throughput_chart(t: &[Second]) -> String {
    let mut s = svg_open(
        "chart-throughput",
        "Requests per second during the load phase",
    );
    let max = t.iter().map(|s| s.requests).max().unwrap_or(0).max(1) as f64;
    let n = t.len().max(2) as f64;
    let (x0, x1, y0, y1) = (50.0, W - 10.0, H - 25.0, 10.0);
    let points: Vec<String> = t
        .iter()
        .enumerate()
        .map(|(i, sec)| {
            let x = x0 + (x1 - x0) * i as f64 / (n - 1.0);
            let y = y0 - (y0 - y1) * sec.requests as f64 / max;
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(
        s,
        "<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#8c959f\"/><line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0}\" y2=\"{y1}\" stroke=\"#8c959f\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{max:.0}</text><text x=\"{:.1}\" y=\"{y0}\" text-anchor=\"end\">0</text>\
         <text x=\"{x1}\" y=\"{:.1}\" text-anchor=\"end\">{} s</text>\
         <polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\" points=\"{}\"/>",
        x0 - 4.0,
        y1 + 8.0,
        x0 - 4.0,
        H - 8.0,
        t.len(),
        points.join(" ")
    );
    s.push_str("</svg>");
    s
}

fn latency_chart(t: &[Second]) -> String {
    let mut s = svg_open(
        "chart-latency",
        "Latency histogram over time: a column per second, a row per latency bucket, darker is more requests; the lines are each second's p50 (dashed) and p99",
    );
    let (x0, x1, y0, y1) = (70.0, W - 10.0, H - 25.0, 10.0);
    let rows = LATENCY_BOUNDS_US.len();
    let cols = t.len().max(1);
    let (cw, rh) = ((x1 - x0) / cols as f64, (y0 - y1) / rows as f64);
    let max = t
        .iter()
        .flat_map(|s| s.latency.iter())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    for (i, sec) in t.iter().enumerate() {
        for (b, &n) in sec.latency.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let opacity = 0.15 + 0.85 * (n as f64 / max).sqrt();
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#0969da\" fill-opacity=\"{opacity:.2}\"><title>second {}: {n} under {}</title></rect>",
                x0 + i as f64 * cw,
                y0 - (b + 1) as f64 * rh,
                cw.max(1.0),
                rh,
                sec.second,
                bound_label(LATENCY_BOUNDS_US[b])
            );
        }
    }
    // Each second's p50 (dashed) and p99 from its HDR histogram, on the rows' scale.
    for (name, dash, of) in [
        (
            "p50",
            " stroke-dasharray=\"4 3\"",
            (|s: &Second| s.p50_us) as fn(&Second) -> u64,
        ),
        ("p99", "", |s: &Second| s.p99_us),
    ] {
        let points: Vec<String> = t
            .iter()
            .enumerate()
            .filter(|(_, sec)| sec.requests > 0)
            .map(|(i, sec)| {
                format!(
                    "{:.1},{:.1}",
                    x0 + (i as f64 + 0.5) * cw,
                    y0 - latency_row(of(sec)) * rh
                )
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            "<polyline class=\"latency-{name}\" fill=\"none\" stroke=\"#bc4c00\" stroke-width=\"2\"{dash} points=\"{}\"><title>{name} per second (HDR)</title></polyline>",
            points.join(" ")
        );
    }
    for (b, bound) in LATENCY_BOUNDS_US.iter().enumerate().step_by(2) {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">&lt;{}</text>",
            x0 - 4.0,
            y0 - b as f64 * rh - rh * 0.3,
            bound_label(*bound)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{x1}\" y=\"{:.1}\" text-anchor=\"end\">{} s</text>",
        H - 8.0,
        t.len()
    );
    s.push_str("</svg>");
    s
}

/// Where `us` falls on the latency chart's rows, as a fractional row from the bottom:
/// within a row, on a log scale between its bounds.
fn latency_row(us: u64) -> f64 {
    let us = us as f64;
    let mut lower = 0.0;
    for (row, &bound) in LATENCY_BOUNDS_US.iter().enumerate() {
        let upper = if bound == u64::MAX {
            lower * 4.0
        } else {
            bound as f64
        };
        if us < upper || bound == u64::MAX {
            let within = if lower <= 0.0 {
                us / upper
            } else {
                (us / lower).ln() / (upper / lower).ln()
            };
            return row as f64 + within.clamp(0.0, 1.0);
        }
        lower = upper;
    }
    LATENCY_BOUNDS_US.len() as f64
}

fn bound_label(us: u64) -> String {
    match us {
        u64::MAX => "any".to_owned(),
        us if us < 1000 => format!("{us} µs"),
        us => format!("{} ms", us / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_land_on_their_rows_in_order() {
        assert_eq!(latency_row(125), 0.5);
        assert_eq!(latency_row(250), 1.0);
        assert!(
            (latency_row(354) - 1.5).abs() < 0.01,
            "half way on a log scale"
        );
        assert_eq!(latency_row(128_000), 10.0);
        assert_eq!(latency_row(512_000), 11.0);
        assert_eq!(latency_row(u64::MAX), 12.0);
        let rows: Vec<f64> = (0..40).map(|i| latency_row(1u64 << i)).collect();
        assert!(rows.windows(2).all(|w| w[0] <= w[1]), "{rows:?}");
    }
}
