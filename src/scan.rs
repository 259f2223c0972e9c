//! The byte scan the parser and the serializer share: where is the next byte that ends a
//! plain run of string content (`"`, `\` or a control character)?

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether any of the 8 bytes of `w` is `"`, `\` or below 0x20 (exact, SWAR).
#[inline]
fn special_in(w: u64) -> bool {
    let below_space = w.wrapping_sub(ONES * 0x20) & !w;
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q;
    let s = w ^ (ONES * u64::from(b'\\'));
    let backslash = s.wrapping_sub(ONES) & !s;
    (below_space | quote | backslash) & HIGH != 0
}

/// Whether `b` is `"`, `\` or below 0x20.
#[inline]
pub(crate) fn is_special(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// The index of the first special byte at or after `from`, or `bytes.len()`.
#[inline]
pub(crate) fn find_special(bytes: &[u8], mut from: usize) -> usize {
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let len = bytes.len();
    while from + 8 <= len {
        if special_in(word(from)) {
            break;
        }
        from += 8;
    }
    // A short tail: the last eight bytes as one word (the overlap was already clean).
    if from + 8 > len && len >= 8 && from < len && !special_in(word(len - 8)) {
        return len;
    }
    while from < len && !is_special(bytes[from]) {
        from += 1;
    }
    from
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exactly_the_special_bytes() {
        for special in (0u8..0x20).chain([b'"', b'\\']) {
            for at in 0..20 {
                let mut v = vec![b'a'; 20];
                v[at] = special;
                assert_eq!(find_special(&v, 0), at, "byte {special:#x} at {at}");
            }
        }
        let plain: Vec<u8> = (0x20u8..=0xff).filter(|b| !is_special(*b)).collect();
        assert_eq!(find_special(&plain, 0), plain.len());
        // Every length and start, with a special byte anywhere or nowhere.
        for len in 0..40usize {
            for special in [None, Some(0), Some(len / 2), Some(len.saturating_sub(1))] {
                let mut v = vec![b'a'; len];
                if let Some(at) = special.filter(|&at| at < len) {
                    v[at] = b'"';
                }
                for from in 0..=len {
                    let want = (from..len).find(|&i| v[i] == b'"').unwrap_or(len);
                    assert_eq!(
                        find_special(&v, from),
                        want,
                        "len {len} from {from} {special:?}"
                    );
                }
            }
        }
        for b in 0..=255u8 {
            assert_eq!(special_in(u64::from(b) * ONES), is_special(b), "{b:#x}");
            let mixed = u64::from_le_bytes([b'a', b, 0xff, b'z', 0x80, 0x7f, b' ', b'#']);
            assert_eq!(special_in(mixed), is_special(b), "{b:#x} among others");
        }
    }
}
