//! Shrinking a failing case by simplifying its tape of choices (0 is always the simplest
//! choice, and a shorter tape is padded with zeros), so every candidate is still a
//! well-formed case of the same kind: drop the tail, zero blocks, then lower single
//! choices. A candidate is kept when it still fails the same way.

use std::future::Future;

/// The shrunk tape and how many candidates were tried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shrunk {
    /// The simplest tape found that still fails.
    pub choices: Vec<u64>,
    /// Candidates tried.
    pub tries: usize,
    /// Candidates kept.
    pub steps: usize,
}

/// Shrinks `choices` while `fails(candidate)` holds, trying at most `budget` candidates.
pub async fn shrink<F, Fut>(choices: Vec<u64>, budget: usize, mut fails: F) -> Shrunk
where
    F: FnMut(Vec<u64>) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut best = trim(choices);
    let mut tries = 0;
    let mut steps = 0;
    let mut improved = true;
    while improved && tries < budget {
        improved = false;
        for candidate in candidates(&best) {
            if tries >= budget {
                break;
            }
            tries += 1;
            if fails(candidate.clone()).await {
                best = trim(candidate);
                steps += 1;
                improved = true;
                break;
            }
        }
    }
    Shrunk {
        choices: best,
        tries,
        steps,
    }
}

/// Trailing zeros mean nothing (a replay pads with zeros).
fn trim(mut choices: Vec<u64>) -> Vec<u64> {
    while choices.last() == Some(&0) {
        choices.pop();
    }
    choices
}

/// Simpler tapes than `c`, the biggest simplifications first.
fn candidates(c: &[u64]) -> Vec<Vec<u64>> {
    let mut out = Vec::new();
    let n = c.len();
    // Shorter tapes: the tail replayed as zeros.
    let mut keep = n / 2;
    while keep < n {
        out.push(c[..keep].to_vec());
        keep += (n - keep).div_ceil(2);
    }
    // Zeroed blocks, from halves down to single choices.
    let mut size = n.div_ceil(2);
    while size >= 1 {
        let mut start = 0;
        while start < n {
            let end = (start + size).min(n);
            if c[start..end].iter().any(|&v| v != 0) {
                let mut z = c.to_vec();
                z[start..end].iter_mut().for_each(|v| *v = 0);
                out.push(z);
            }
            start += size;
        }
        if size == 1 {
            break;
        }
        size = size.div_ceil(2);
    }
    // Single choices halved and decremented.
    for (i, &v) in c.iter().enumerate() {
        if v > 1 {
            let mut h = c.to_vec();
            h[i] = v / 2;
            out.push(h);
            let mut d = c.to_vec();
            d[i] = v - 1;
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn shrinks_to_the_smallest_tape_that_still_fails() {
        // Fails while choice 3 is at least 5: the minimum is [0, 0, 0, 5].
        let start = vec![9, 4, 7, 80, 3, 3, 12, 0, 5];
        let out = block_on(shrink(start, 1000, |c| async move {
            c.get(3).copied().unwrap_or(0) >= 5
        }));
        assert_eq!(out.choices, [0, 0, 0, 5]);
        assert!(out.steps > 0 && out.tries <= 1000);
    }

    #[test]
    fn keeps_the_original_when_nothing_simpler_fails_and_respects_the_budget() {
        let start = vec![1, 2, 3];
        let exact = start.clone();
        let out = block_on(shrink(start.clone(), 1000, move |c| {
            let hit = c == exact;
            async move { hit }
        }));
        assert_eq!(out.choices, start);
        assert_eq!(out.steps, 0);
        let capped = block_on(shrink(vec![5; 64], 7, |_| async { false }));
        assert_eq!(capped.tries, 7);
    }
}
