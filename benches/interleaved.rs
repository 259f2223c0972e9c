//! Ratios that hold on a noisy machine: every implementation timed in alternating short
//! slices, round after round, and the median of the per-round speed ratios (ours against
//! each), with the spread between the rounds' quartiles. A neighbour's load lands on both
//! sides of a ratio, so two runs agree where two criterion runs do not.
//!
//! ```sh
//! taskset -c 1 cargo bench --bench interleaved    # ROUNDS=201 SLICE_MS=5 by default
//! ```
//!
//! Prints a Markdown table: above 1.00x ours is faster. Every call checks its result.
//! Then issue #17's goals per payload (parse at least as fast as the serde_json and
//! simd-json structs, serialize as sonic-rs's), judged on each median's 95% confidence
//! interval: met or missed only when every interval is on one side of 1.00x.

use std::hint::black_box;
use std::time::{Duration, Instant};

use devices_harness::{from_bytes, to_vec};

mod payloads;
use payloads::{PlainDevice, payloads};

/// One implementation of an operation on one payload.
struct Contender<'a> {
    name: &'static str,
    run: Box<dyn FnMut() + 'a>,
}

fn contender<'a>(name: &'static str, run: impl FnMut() + 'a) -> Contender<'a> {
    Contender {
        name,
        run: Box::new(run),
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Iterations of `run` that take about `slice`.
fn calibrate(run: &mut dyn FnMut(), slice: Duration) -> u64 {
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            run();
        }
        let took = t.elapsed();
        if took >= slice / 4 || n >= 1 << 30 {
            let per = took.as_secs_f64() / n as f64;
            return ((slice.as_secs_f64() / per) as u64).max(1);
        }
        n *= 2;
    }
}

/// The median and quartiles of `sorted`.
fn quartiles(sorted: &[f64]) -> (f64, f64, f64) {
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.25), at(0.75))
}

/// The median's 95% confidence interval from the sorted rounds' order statistics (no
/// assumption on how the rounds spread): the k-th smallest and the k-th largest for the
/// largest k with P(Binomial(n, 1/2) < k) <= 2.5%; `None` under 6 rounds.
fn median_interval(sorted: &[f64]) -> Option<(f64, f64)> {
    let n = sorted.len();
    let ln_half_n = n as f64 * 0.5f64.ln();
    // ln C(n, k), and P(B <= k) summed as k grows (terms too small for an f64 add 0).
    let (mut ln_choose, mut below, mut k) = (0.0f64, 0.0f64, 0usize);
    while k < n / 2 {
        below += (ln_choose + ln_half_n).exp();
        if below > 0.025 {
            break;
        }
        ln_choose += ((n - k) as f64).ln() - ((k + 1) as f64).ln();
        k += 1;
    }
    (k > 0).then(|| (sorted[k - 1], sorted[n - k]))
}

/// One contender's cell: its median speed ratio with the quartiles, as printed, and the
/// median's 95% interval.
struct Cell {
    name: String,
    text: String,
    interval: Option<(f64, f64)>,
}

/// Times `ours` (the first contender) and the others in alternating slices for `rounds`
/// rounds; for each other contender, the median speed ratio and its spread.
fn race(mut contenders: Vec<Contender<'_>>, rounds: u64, slice: Duration) -> Vec<Cell> {
    if rounds == 0 {
        return Vec::new();
    }
    let iters: Vec<u64> = contenders
        .iter_mut()
        .map(|c| calibrate(&mut c.run, slice))
        .collect();
    let k = contenders.len();
    let mut per_round: Vec<Vec<f64>> = vec![Vec::new(); k];
    for round in 0..rounds as usize {
        let mut times = vec![0.0; k];
        // A different contender goes first each round: no one always runs on a cold cache.
        for step in 0..k {
            let i = (round + step) % k;
            let c = &mut contenders[i];
            let t = Instant::now();
            for _ in 0..iters[i] {
                (c.run)();
            }
            times[i] = t.elapsed().as_secs_f64() / iters[i] as f64;
        }
        for i in 1..k {
            per_round[i].push(times[i] / times[0]);
        }
    }
    (1..k)
        .map(|i| {
            let mut ratios = std::mem::take(&mut per_round[i]);
            ratios.sort_by(f64::total_cmp);
            let (median, q1, q3) = quartiles(&ratios);
            Cell {
                name: contenders[i].name.to_owned(),
                text: format!("{median:.2}x ({q1:.2}-{q3:.2})"),
                interval: median_interval(&ratios),
            }
        })
        .collect()
}

/// Issue #17's goals on one payload: every goal cell's median interval at or above
/// 1.00x is met, any below it missed, else not decided; with the lowest interval.
fn verdict(parse: &[Cell], serialize: &[Cell]) -> String {
    let goals: Vec<(&str, &Cell)> = parse
        .iter()
        .filter(|c| c.name == "serde_json struct" || c.name == "simd-json struct")
        .map(|c| ("parse", c))
        .chain(
            serialize
                .iter()
                .filter(|c| c.name == "sonic-rs struct")
                .map(|c| ("serialize", c)),
        )
        .collect();
    let mut intervals = Vec::new();
    for (op, cell) in &goals {
        let Some((lo, hi)) = cell.interval else {
            return format!("not decided ({op} vs {}: too few rounds)", cell.name);
        };
        intervals.push((op, cell.name.as_str(), lo, hi));
    }
    let Some(&(op, name, lo, hi)) = intervals.iter().min_by(|a, b| a.2.total_cmp(&b.2)) else {
        return "no goal measured (OPS left them out)".to_owned();
    };
    let word = if intervals.iter().any(|i| i.3 < 1.0) {
        "missed"
    } else if lo >= 1.0 {
        "met"
    } else {
        "not decided"
    };
    format!("{word}; the lowest interval {op} vs {name} {lo:.2}x-{hi:.2}x")
}

fn main() {
    // The interval against the standard table of the median's order statistics (6 to 31
    // rounds) and an exact binomial sum done apart (201 rounds).
    for (n, lo, hi) in [
        (5, 0, 0),
        (6, 1, 6),
        (9, 2, 8),
        (15, 4, 12),
        (31, 10, 22),
        (201, 87, 115),
    ] {
        let ranks: Vec<f64> = (1..=n).map(f64::from).collect();
        let want = (lo > 0).then_some((f64::from(lo), f64::from(hi)));
        assert_eq!(
            median_interval(&ranks),
            want,
            "the median's interval of {n} rounds"
        );
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: then one
    // quick round proves the bench runs.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = if quick { 1 } else { env_or("ROUNDS", 201) };
    let slice = Duration::from_millis(if quick { 1 } else { env_or("SLICE_MS", 5) });
    // `PAYLOADS=large,max` and `OPS=serialize` narrow a run while iterating.
    let wanted = |var: &str, name: &str| {
        std::env::var(var).map_or(true, |list| list.split(',').any(|w| w == name))
    };
    let mut rows = Vec::new();
    for (name, bytes) in payloads()
        .into_iter()
        .filter(|(n, _)| wanted("PAYLOADS", n))
    {
        let Ok(device) = from_bytes(&bytes) else {
            panic!("the {name} payload is a valid device");
        };
        let Ok(plain) = serde_json::from_slice::<PlainDevice>(&bytes) else {
            panic!("the {name} payload fits the plain struct");
        };
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            panic!("the {name} payload is JSON");
        };
        let ids = plain.physicalIds.len();
        let props = device.properties.len();
        let rounds_of = |op| if wanted("OPS", op) { rounds } else { 0 };
        let parse = race(
            vec![
                contender("devices-harness", || {
                    let d = from_bytes(black_box(&bytes));
                    assert!(d.is_ok_and(|d| d.properties.len() == props));
                }),
                contender("serde_json Value", || {
                    let v = serde_json::from_slice::<serde_json::Value>(black_box(&bytes));
                    assert!(v.is_ok_and(|v| v.is_object()));
                }),
                contender("serde_json struct", || {
                    let d = serde_json::from_slice::<PlainDevice>(black_box(&bytes));
                    assert!(d.is_ok_and(|d| d.physicalIds.len() == ids));
                }),
                contender("sonic-rs struct", || {
                    let d = sonic_rs::from_slice::<PlainDevice>(black_box(&bytes));
                    assert!(d.is_ok_and(|d| d.physicalIds.len() == ids));
                }),
                contender("simd-json struct", || {
                    // simd-json parses in place: the copy is part of its cost.
                    let mut copy = black_box(&bytes).clone();
                    let d = simd_json::serde::from_slice::<PlainDevice>(&mut copy);
                    assert!(d.is_ok_and(|d| d.physicalIds.len() == ids));
                }),
            ],
            rounds_of("parse"),
            slice,
        );
        let ours_len = to_vec(&device).len();
        let value_len = serde_json::to_vec(&value).map_or(0, |v| v.len());
        let plain_len = serde_json::to_vec(&plain).map_or(0, |v| v.len());
        let serialize = race(
            vec![
                contender("devices-harness", || {
                    assert_eq!(to_vec(black_box(&device)).len(), ours_len);
                }),
                contender("serde_json Value", || {
                    let out = serde_json::to_vec(black_box(&value));
                    assert!(out.is_ok_and(|o| o.len() == value_len));
                }),
                contender("serde_json struct", || {
                    let out = serde_json::to_vec(black_box(&plain));
                    assert!(out.is_ok_and(|o| o.len() == plain_len));
                }),
                contender("sonic-rs struct", || {
                    let out = sonic_rs::to_vec(black_box(&plain));
                    assert!(out.is_ok_and(|o| o.len() == plain_len));
                }),
            ],
            rounds_of("serialize"),
            slice,
        );
        rows.push((name, bytes.len(), parse, serialize));
    }
    let Some((_, _, parse, serialize)) = rows.first() else {
        return;
    };
    let mut header = String::from("| payload |");
    let mut rule = String::from("|---|");
    for cell in parse {
        header.push_str(&format!(" parse vs {} |", cell.name));
        rule.push_str("---:|");
    }
    for cell in serialize {
        header.push_str(&format!(" serialize vs {} |", cell.name));
        rule.push_str("---:|");
    }
    println!(
        "{rounds} rounds of {slice:?} slices; median speed ratio (quartiles), above 1.00x ours is faster\n"
    );
    println!("{header}\n{rule}");
    for (name, len, parse, serialize) in &rows {
        let cells: Vec<&str> = parse
            .iter()
            .chain(serialize)
            .map(|c| c.text.as_str())
            .collect();
        println!("| {name} ({len} B) | {} |", cells.join(" | "));
    }
    println!(
        "\ngoals (parse at least as fast as the serde_json and simd-json structs, serialize as sonic-rs's; each median's 95% interval):"
    );
    for (name, _, parse, serialize) in &rows {
        println!("- {name}: {}", verdict(parse, serialize));
    }
}
