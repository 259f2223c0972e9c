//! Hostile input: the parser never panics, never overflows the stack, and stops at the
//! first byte that decides the verdict.
#![cfg(feature = "proptest")]

use devices_harness::{ErrorKind, from_bytes, fuzz};
use proptest::prelude::*;

/// Runs `f` on a thread with a 512 KiB stack (a quarter of a tokio worker's): recursion
/// past the depth limit would overflow it, even in a debug build.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn hundred_thousand_nested_openers_stop_at_the_limit() {
    for opener in ["[", "{\"a\":", "{\"@a\":["] {
        let body = opener.repeat(100_000).into_bytes();
        let err = on_small_stack(move || from_bytes(&body).unwrap_err());
        assert_eq!(err.kind, ErrorKind::TooDeep { limit: 64 }, "{opener}");
        // The 65th opener is where parsing stops: nothing after it was read.
        let depth_65 = match opener {
            "[" => 64,
            "{\"a\":" => 64 * 5,
            _ => 32 * 7,
        };
        assert_eq!(err.offset, depth_65, "{opener}");
    }
}

#[test]
fn deep_nesting_inside_a_valid_device_is_rejected_not_recursed() {
    let seed = include_str!("data/seed-example-request.json");
    let body = seed.replacen('{', &format!("{{\"@x\":{},", "[".repeat(1_000_000)), 1);
    let err = on_small_stack(move || from_bytes(body.as_bytes()).unwrap_err());
    assert_eq!(err.kind, ErrorKind::TooDeep { limit: 64 });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assert_eq!(fuzz::parse_bytes(&bytes), Ok(()));
    }

    #[test]
    fn mutated_seed_never_panics_and_round_trips_when_accepted(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6)
    ) {
        let mut body = include_bytes!("data/seed-example-request.json").to_vec();
        for (at, byte, op) in edits {
            if body.is_empty() { break; }
            let i = at.index(body.len());
            match op {
                0 => body[i] = byte,
                1 => { body.remove(i); }
                _ => body.insert(i, byte),
            }
        }
        prop_assert_eq!(fuzz::parse_bytes(&body), Ok(()));
    }
}
