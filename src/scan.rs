//! The byte-level primitives the parser, the serializer and the contract share: where the
//! next byte is that ends a plain run of string content (`"`, `\` or a control character),
//! and writing JSON strings and integers. A leaf: it imports nothing from the crate.

use std::mem::MaybeUninit;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether any of the 8 bytes of `w` is `"`, `\` or below 0x20 (exact, SWAR).
#[inline]
fn special_in(w: u64) -> bool {
    special_mask(w) != 0
}

/// The high bit of each byte of `w` (little-endian) that is `"`, `\` or below 0x20, and
/// possibly of bytes after such a byte (a borrow runs upwards only): so the lowest set
/// bit marks the first special byte exactly, and 0 means none.
#[inline]
fn special_mask(w: u64) -> u64 {
    let below_space = w.wrapping_sub(ONES * 0x20) & !w;
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q;
    let s = w ^ (ONES * u64::from(b'\\'));
    let backslash = s.wrapping_sub(ONES) & !s;
    (below_space | quote | backslash) & HIGH
}

/// Whether any byte of `chunk` is `"`, `\` or below 0x20: byte compares the compiler turns
/// into vector compares (SSE2 on x86-64, NEON on aarch64).
#[inline]
fn special_in_chunk<const C: usize>(chunk: &[u8; C]) -> bool {
    chunk.iter().fold(0u8, |m, &b| m | u8::from(is_special(b))) != 0
}

/// Whether `b` is `"`, `\` or below 0x20.
#[inline]
pub(crate) fn is_special(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// `a == b`, inline: member names are short, and a `memcmp` call per name cost more than
/// the compare (5% of parsing the seed page's example). Words of 8 bytes (4 below 8),
/// the last one overlapping.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    fn word<const W: usize>(s: &[u8], at: usize) -> Option<[u8; W]> {
        s.get(at..at + W)?.try_into().ok()
    }
    if n < 4 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    if n < 8 {
        return word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4);
    }
    let mut at = 0;
    while at + 8 < n {
        if word::<8>(a, at) != word::<8>(b, at) {
            return false;
        }
        at += 8;
    }
    word::<8>(a, n - 8) == word::<8>(b, n - 8)
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
        let mask = special_mask(word(from));
        if mask != 0 {
            return from + (mask.trailing_zeros() / 8) as usize;
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

pub(crate) fn write_i32(out: &mut Vec<u8>, n: i32) {
    let mut buf = [0u8; 11];
    let mut i = buf.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    out.extend_from_slice(&buf[i..]);
}

// 0: written as is; b'u': \u00XX; otherwise the letter of a short escape.
const fn escapes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
}
static ESCAPE: [u8; 256] = escapes();

/// Appends `s` as a JSON string literal: `"` and `\` and control characters escaped,
/// everything else (non-ASCII included) as UTF-8.
#[inline]
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    write_utf8(out, s.as_bytes());
}

/// [`write_str`] of bytes that are UTF-8 already (a range of a `str` cut at character
/// boundaries), without checking the boundaries again.
#[inline]
pub(crate) fn write_utf8(out: &mut Vec<u8>, bytes: &[u8]) {
    if !append_clean(out, bytes, true) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        write_escaped(out, bytes);
        out.push(b'"');
    }
}

/// Appends the content of a JSON string literal holding `s` (escaped, without quotes).
#[inline]
pub(crate) fn write_str_content(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if !append_clean(out, bytes, false) {
        write_escaped(out, bytes);
    }
}

/// Appends `bytes` (between quotes when `quotes`) and returns true when none of its bytes
/// needs an escape; otherwise returns false, having appended nothing.
///
/// Most strings of a device need no escape. They are checked and copied in one pass, in
/// 16- or 8-byte chunks (fixed-size moves, the compiler's vector compares) straight into
/// the vector's spare capacity, and the length is set once at the end. Appending the
/// same chunks with `extend_from_slice`, a capacity check and a length update each, was
/// 1.5x slower on the 4 MiB device; zero-filling with `resize` first, 1.4x. This is the
/// crate's first `unsafe` block (the second: [`append_clean_list`]).
#[allow(unsafe_code)]
#[inline]
fn append_clean(out: &mut Vec<u8>, bytes: &[u8], quotes: bool) -> bool {
    let len = bytes.len();
    let q = usize::from(quotes);
    let total = len + 2 * q;
    out.reserve(total);
    let start = out.len();
    let spare = &mut out.spare_capacity_mut()[..total];
    let content = &mut spare[q..q + len];
    let clean = if len >= 16 {
        copy_chunks::<16>(content, bytes)
    } else if len >= 8 {
        copy_chunks::<8>(content, bytes)
    } else {
        copy_bytes(content, bytes)
    };
    if !clean {
        return false;
    }
    if quotes {
        spare[0].write(b'"');
        spare[total - 1].write(b'"');
    }
    // SAFETY: `reserve` made room for `total` more bytes, and all of them, `start` to
    // `start + total`, were written above: the quotes when asked for, and every byte of
    // the content (`copy_chunks` and `copy_bytes` write all of `content` when they
    // return true; see there).
    unsafe { out.set_len(start + total) };
    true
}

/// Appends the strings `text[0..ends[0]]`, `text[ends[0]..ends[1]]`, ... as JSON string
/// literals separated by commas (a packed list's elements, without the brackets). `text`
/// is UTF-8 and every end a character boundary, as [`write_utf8`] asks.
///
/// Never inlined: inlined into the serializer's `write_value`, which recurses, its larger
/// frame made every value slower (the seed page's example against serde_json's `Value`:
/// 2.65x without it, 2.06x with it).
#[inline(never)]
pub(crate) fn write_utf8_list(out: &mut Vec<u8>, text: &[u8], ends: &[usize]) {
    if !append_clean_list(out, text, ends) {
        let mut start = 0;
        for (i, &end) in ends.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_utf8(out, text.get(start..end).unwrap_or_default());
            start = end;
        }
    }
}

/// [`write_utf8_list`] when no byte of `text` needs an escape: returns true having
/// appended the list, or false having appended nothing.
///
/// A list is most of a big device (the 4 MiB one is 150,000 physicalIds of ~25 bytes),
/// and per element [`append_clean`] pays a call, a capacity check and a length update.
/// Here one `reserve` covers the whole list, each element is copied in whole 16-byte
/// chunks (the last one running on into the next element's place or the slack at the
/// end, overwritten or left beyond the length), the special bytes of every chunk are
/// or-ed lane by lane and tested once at the end, and the length is set once. The
/// chunks cover every byte of `text` (past its end, read as spaces), so the test is
/// exact.
#[allow(unsafe_code)]
fn append_clean_list(out: &mut Vec<u8>, text: &[u8], ends: &[usize]) -> bool {
    const C: usize = 16;
    let Some(&last) = ends.last() else {
        return true;
    };
    if last != text.len() {
        return false;
    }
    // Each element: its bytes, two quotes and a comma; no comma after the last.
    let total = text.len() + 3 * ends.len() - 1;
    out.reserve(total + C);
    let start = out.len();
    let spare = &mut out.spare_capacity_mut()[..total + C];
    let mut special = [0u8; C];
    let (mut at, mut from) = (0, 0);
    for &end in ends {
        let Some(len) = end.checked_sub(from) else {
            return false;
        };
        spare[at].write(b'"');
        at += 1;
        let mut k = 0;
        while k < len {
            let chunk: [u8; C] = match text.get(from + k..from + k + C) {
                Some(whole) => whole.try_into().unwrap_or([b' '; C]),
                None => padded(text.get(from + k..).unwrap_or_default()),
            };
            for (s, &b) in special.iter_mut().zip(&chunk) {
                *s |= u8::from(is_special(b));
            }
            for (d, b) in spare[at + k..at + k + C].iter_mut().zip(chunk) {
                d.write(b);
            }
            k += C;
        }
        at += len;
        spare[at].write(b'"');
        spare[at + 1].write(b',');
        at += 2;
        from = end;
    }
    if special != [0; C] {
        return false;
    }
    // SAFETY: `reserve` made room for `total + C` more bytes. Elements are written in
    // order from 0: each element's quote, its `len` bytes (chunks from its first byte up,
    // the last possibly running past them, which the next writes overwrite), its closing
    // quote and a comma; the last element's comma is at `total`. So every byte from
    // `start` to `start + total` was written.
    unsafe { out.set_len(start + total) };
    true
}

/// The last bytes of a text (fewer than 16), followed by spaces: the chunk past the end
/// of a list, once per list, out of the loop's way.
#[cold]
#[inline(never)]
fn padded(tail: &[u8]) -> [u8; 16] {
    let mut chunk = [b' '; 16];
    for (c, &b) in chunk.iter_mut().zip(tail) {
        *c = b;
    }
    chunk
}

/// Copies `bytes` (at least `C` long) into `dst` (exactly as long) in `C`-byte chunks at
/// 0, C, 2C, ... and last at `len - C` (overlapping the one before), so every byte of
/// `dst` is written when it returns true. False at the first chunk holding a byte that
/// needs an escape.
#[inline]
fn copy_chunks<const C: usize>(dst: &mut [MaybeUninit<u8>], bytes: &[u8]) -> bool {
    let len = bytes.len();
    let mut at = 0;
    loop {
        let from = at.min(len - C);
        let mut chunk = [0u8; C];
        chunk.copy_from_slice(&bytes[from..from + C]);
        if special_in_chunk(&chunk) {
            return false;
        }
        for (d, b) in dst[from..from + C].iter_mut().zip(chunk) {
            d.write(b);
        }
        at += C;
        if at >= len {
            return true;
        }
    }
}

/// Copies `bytes` into `dst` (exactly as long) byte by byte; false at the first byte that
/// needs an escape. Every byte of `dst` is written when it returns true.
#[inline]
fn copy_bytes(dst: &mut [MaybeUninit<u8>], bytes: &[u8]) -> bool {
    for (d, &b) in dst.iter_mut().zip(bytes) {
        if is_special(b) {
            return false;
        }
        d.write(b);
    }
    true
}

/// Appends `bytes`, escaped.
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut run = 0;
    loop {
        let i = find_special(bytes, run);
        out.extend_from_slice(&bytes[run..i]);
        let Some(&b) = bytes.get(i) else { break };
        run = i + 1;
        write_escape(out, b);
    }
}

/// Appends the escape of a byte that needs one (`"`, `\` or a control character).
#[inline]
pub(crate) fn write_escape(out: &mut Vec<u8>, b: u8) {
    let e = ESCAPE[usize::from(b)];
    if e == b'u' {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xf)],
        ]);
    } else {
        out.extend_from_slice(&[b'\\', e]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `same` agrees with `==` at every length up to 40, with one byte changed at each
    /// position, and with lengths that differ.
    #[test]
    #[cfg_attr(miri, ignore = "hundreds of cases: too slow under Miri")]
    fn same_is_equality() {
        let text: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..=text.len() {
            let a = &text[..n];
            let copy = a.to_vec();
            assert!(same(a, &copy), "{n}");
            for i in 0..n {
                let mut b = a.to_vec();
                b[i] ^= 0x20;
                assert!(!same(a, &b), "{n} {i}");
            }
            if n > 0 {
                assert!(!same(a, &text[..n - 1]), "{n}");
            }
        }
    }

    /// The escapes byte by byte: what `write_str_content` must write.
    fn escaped_slowly(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in s.as_bytes() {
            if is_special(b) {
                write_escape(&mut out, b);
            } else {
                out.push(b);
            }
        }
        out
    }

    /// Under Miri (`cargo +nightly miri test --no-default-features --lib scan`), which
    /// checks `append_clean`'s `unsafe` block for reads of uninitialised bytes and writes
    /// out of bounds: every path (byte by byte, 8- and 16-byte chunks, an escape found in the
    /// first or the last chunk) at the lengths around each boundary.
    #[test]
    fn appends_at_every_boundary() {
        for len in [0usize, 1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47] {
            for at in [None, Some(0), Some(len / 2), Some(len.saturating_sub(1))] {
                let mut s: String = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
                if let Some(at) = at.filter(|&at| at < len) {
                    s.replace_range(at..=at, "\"");
                }
                let mut quoted = b"x".to_vec();
                write_str(&mut quoted, &s);
                let want = [&b"x\""[..], &escaped_slowly(&s), b"\""].concat();
                assert_eq!(quoted, want, "{s:?}");
                let mut bare = Vec::new();
                write_str_content(&mut bare, &s);
                assert_eq!(bare, escaped_slowly(&s), "{s:?}");
            }
        }
    }

    /// A packed list written whole: every element length around the chunk size, first,
    /// middle and last, with an escape in none, one or the last element (so the fast path
    /// is taken, or abandoned after it wrote), after text already in the buffer. Under
    /// Miri too: the list's `unsafe` block.
    #[test]
    fn writes_lists_as_their_elements() {
        // Under Miri, fewer lengths: a chunk's worth either side of the boundary.
        let lens: &[usize] = if cfg!(miri) {
            &[0, 1, 16, 17]
        } else {
            &[0, 1, 15, 16, 17, 33]
        };
        for &a in lens {
            for &b in lens {
                for &c in lens {
                    for dirty in [None, Some(0), Some(2)] {
                        let mut items: Vec<String> = [a, b, c]
                            .iter()
                            .map(|&n| (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect())
                            .collect();
                        if let Some(d) = dirty {
                            items[d].push('\n');
                        }
                        let mut text = String::new();
                        let mut ends = Vec::new();
                        for item in &items {
                            text.push_str(item);
                            ends.push(text.len());
                        }
                        let mut out = b"[".to_vec();
                        write_utf8_list(&mut out, text.as_bytes(), &ends);
                        let mut want = b"[".to_vec();
                        for (i, item) in items.iter().enumerate() {
                            if i > 0 {
                                want.push(b',');
                            }
                            want.extend([&b"\""[..], &escaped_slowly(item), b"\""].concat());
                        }
                        assert_eq!(out, want, "{items:?}");
                    }
                }
            }
        }
        // Non-ASCII, one element, and none.
        let mut out = Vec::new();
        write_utf8_list(&mut out, "é😀".as_bytes(), &[2, 6]);
        assert_eq!(out, "\"é\",\"😀\"".as_bytes());
        out.clear();
        write_utf8_list(&mut out, b"", &[]);
        assert_eq!(out, b"");
        // Ends that do not describe the text (not made by `Strings`): written as the
        // elements the ends cut, no panic.
        out.clear();
        write_utf8_list(&mut out, b"abcd", &[3, 1]);
        assert_eq!(out, b"\"abc\",\"\"");
        out.clear();
        write_utf8_list(&mut out, b"abcd", &[3, 1, 4]);
        assert_eq!(out, b"\"abc\",\"\",\"bcd\"");
    }

    #[test]
    #[cfg_attr(miri, ignore = "tens of thousands of cases: too slow under Miri")]
    fn writes_every_length_and_escape_position_exactly() {
        for len in 0..50usize {
            for special in [None, Some('"'), Some('\\'), Some('\n'), Some('\u{1f}')] {
                for at in 0..len.max(1) {
                    let mut chars: Vec<char> =
                        (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
                    if let (Some(c), true) = (special, at < len) {
                        chars[at] = c;
                    }
                    // Non-ASCII too: a two-byte and a four-byte character.
                    let plain: String = chars.iter().collect();
                    for s in [plain.clone(), format!("é{plain}"), format!("{plain}😀")] {
                        let mut out = b"prefix".to_vec();
                        write_str_content(&mut out, &s);
                        assert_eq!(&out[..6], b"prefix", "{s:?}");
                        assert_eq!(out[6..], escaped_slowly(&s), "{s:?}");
                        let mut quoted = b"prefix".to_vec();
                        write_str(&mut quoted, &s);
                        let want = [&b"prefix\""[..], &escaped_slowly(&s), b"\""].concat();
                        assert_eq!(quoted, want, "{s:?}");
                    }
                }
            }
        }
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "every byte value at every position: too slow under Miri"
    )]
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
        // Every pair of adjacent byte values, at the start, middle and end of a word and
        // across two: the first special byte is found exactly, whatever a borrow from it
        // marks in the bytes after it.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                for at in [0usize, 3, 6, 7] {
                    let mut v = [b'x'; 16];
                    v[at] = a;
                    v[at + 1] = b;
                    let want = v.iter().position(|&c| is_special(c)).unwrap_or(v.len());
                    assert_eq!(find_special(&v, 0), want, "{a:#x} {b:#x} at {at}");
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
