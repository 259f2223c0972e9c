//! Criterion benches: parse (full validation) and serialize, against `serde_json::Value`
//! on the same bytes, measured in the same run; and payload generation.
//!
//! `cargo bench --bench devices` (HTML reports under `target/criterion`). Ids are
//! `<operation>/<payload>/<implementation>`; every iteration checks its result.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use devices_harness::{Device, Profile, Value, from_bytes, to_vec};

/// The payloads: the seed page's example, and a large device (1,500 physicalIds, 50
/// alternativeSecurityIds) grown from it.
fn payloads() -> Vec<(&'static str, Vec<u8>)> {
    let seed = include_bytes!("../tests/data/seed-example-request.json").to_vec();
    let Ok(mut large) = from_bytes(&seed) else {
        panic!("the seed example must parse");
    };
    grow(&mut large, "physicalIds", 1500);
    grow(&mut large, "alternativeSecurityIds", 50);
    vec![("seed", seed), ("large", to_vec(&large))]
}

/// Repeats the first element of collection `name` (with a distinct string where it is
/// one) until it has `n` elements.
fn grow(device: &mut Device, name: &str, n: usize) {
    let Some(i) = Profile::seed().property_index(name) else {
        panic!("{name} is in the seed table");
    };
    if let Some(Some(Value::Collection(items))) = device.properties.get_mut(i) {
        let first = items[0].clone();
        *items = (0..n)
            .map(|k| match &first {
                Value::String(s) => Value::String(format!("{s} {k}")),
                v => v.clone(),
            })
            .collect();
    }
}

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
            assert!(case.expected.status >= 400);
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
