//! Criterion benches: parse (full validation) and serialize, against `serde_json::Value`
//! on the same bytes, measured in the same run; and payload generation.
//!
//! `cargo bench --bench devices` (HTML reports under `target/criterion`). Ids are
//! `<operation>/<payload>/<implementation>`; every iteration checks its result.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use devices_harness::{Profile, from_bytes, to_vec};

mod payloads;
use payloads::{PlainDevice, payloads};

fn bench(c: &mut Criterion) {
    for (name, bytes) in payloads() {
        let device = from_bytes(&bytes).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let mut g = c.benchmark_group(format!("parse/{name}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("devices-harness", |b| {
            b.iter(|| {
                let d = from_bytes(black_box(&bytes));
                assert!(
                    d.as_ref()
                        .is_ok_and(|d| d.properties.len() == device.properties.len())
                );
                d
            })
        });
        g.bench_function("serde_json-value", |b| {
            b.iter(|| {
                let v = serde_json::from_slice::<serde_json::Value>(black_box(&bytes));
                assert!(v.as_ref().is_ok_and(serde_json::Value::is_object));
                v
            })
        });
        let ids = value["physicalIds"].as_array().map_or(0, Vec::len);
        g.bench_function("serde_json-struct", |b| {
            b.iter(|| {
                let d = serde_json::from_slice::<PlainDevice>(black_box(&bytes));
                assert!(d.as_ref().is_ok_and(|d| d.physicalIds.len() == ids));
                d
            })
        });
        g.bench_function("sonic-rs-struct", |b| {
            b.iter(|| {
                let d = sonic_rs::from_slice::<PlainDevice>(black_box(&bytes));
                assert!(d.as_ref().is_ok_and(|d| d.physicalIds.len() == ids));
                d
            })
        });
        g.bench_function("simd-json-struct", |b| {
            // simd-json parses in place: the copy is part of its cost.
            b.iter(|| {
                let mut copy = black_box(&bytes).clone();
                let d = simd_json::serde::from_slice::<PlainDevice>(&mut copy);
                assert!(d.as_ref().is_ok_and(|d| d.physicalIds.len() == ids));
                d.map(|d| d.physicalIds.len())
            })
        });
        g.finish();

        let out_len = to_vec(&device).len();
        let mut g = c.benchmark_group(format!("serialize/{name}"));
        g.throughput(Throughput::Bytes(out_len as u64));
        g.bench_function("devices-harness", |b| {
            b.iter(|| {
                let out = to_vec(black_box(&device));
                assert_eq!(out.len(), out_len);
                out
            })
        });
        let value_len = serde_json::to_vec(&value).map(|v| v.len()).unwrap_or(0);
        g.bench_function("serde_json-value", |b| {
            b.iter(|| {
                let out = serde_json::to_vec(black_box(&value));
                assert!(out.as_ref().is_ok_and(|o| o.len() == value_len));
                out
            })
        });
        let Ok(plain) = serde_json::from_slice::<PlainDevice>(&bytes) else {
            panic!("the payload fits the plain struct");
        };
        let plain_len = serde_json::to_vec(&plain).map(|v| v.len()).unwrap_or(0);
        g.bench_function("serde_json-struct", |b| {
            b.iter(|| {
                let out = serde_json::to_vec(black_box(&plain));
                assert!(out.as_ref().is_ok_and(|o| o.len() == plain_len));
                out
            })
        });
        g.bench_function("sonic-rs-struct", |b| {
            b.iter(|| {
                let out = sonic_rs::to_vec(black_box(&plain));
                assert!(out.as_ref().is_ok_and(|o| o.len() == plain_len));
                out
            })
        });
        g.finish();
    }
}

/// Generation: the fast seeded generator (valid payloads serialized, malformed cases by
/// default weight) beside the proptest strategy. Elements are payloads.
fn generate(c: &mut Criterion) {
    use devices_harness::generate::{fast::Generator, valid};
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;

    let mut g = c.benchmark_group("generate/valid");
    g.throughput(Throughput::Elements(1));
    let mut fast = Generator::new(1);
    g.bench_function("fast", |b| {
        b.iter(|| {
            let bytes = fast.valid();
            assert!(bytes.first() == Some(&b'{') && bytes.last() == Some(&b'}'));
            bytes
        })
    });
    let strategy = valid::strategy(Profile::seed());
    let mut runner = TestRunner::deterministic();
    g.bench_function("proptest", |b| {
        b.iter(|| {
            let Ok(tree) = strategy.new_tree(&mut runner) else {
                panic!("the strategy never rejects");
            };
            let bytes = to_vec(&tree.current());
            assert!(bytes.first() == Some(&b'{'));
            bytes
        })
    });
    g.finish();

    let mut g = c.benchmark_group("generate/malformed");
    g.throughput(Throughput::Elements(1));
    let mut fast = Generator::new(2);
    g.bench_function("fast", |b| {
        b.iter(|| {
            let case = fast.malformed();
            assert!(case.expected.status() >= 400);
            case
        })
    });
    let strategy = devices_harness::generate::malformed::strategy(Profile::seed());
    g.bench_function("proptest", |b| {
        b.iter(|| {
            let Ok(tree) = strategy.new_tree(&mut runner) else {
                panic!("every class applies to the seed profile");
            };
            let case = tree.current();
            assert!(case.expected.status() >= 400);
            case
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .noise_threshold(0.03);
    targets = bench, generate
}
criterion_main!(benches);
