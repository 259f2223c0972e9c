//! The bodies of the fuzz targets in `fuzz/`, kept in the library so that `cargo test`
//! replays the checked-in corpus and regressions through the very same code on stable.
//! Each returns what broke (for the fuzzer to panic on, or a test to report).
//!
//! | target | checks |
//! |---|---|
//! | [`parse_bytes`] | any bytes: no panic; an accepted device round-trips and serializes to a fixpoint |
//! | [`parse_differential`] | our "readable JSON" verdict equals `serde_json`'s, but for documented differences |
//! | `roundtrip_structured` | an `Arbitrary` device serializes and parses back equal, in any spelling |
//! | `malformed_agreement` | an `Arbitrary` (device, defect) is rejected with exactly that defect's rule |
//! | `server_request` | an `Arbitrary` HTTP request to the reference server: never a 5xx; a 201 reads back |
//!
//! The parse targets' custom mutator is [`crate::generate::mutate::mutate_json`].

use crate::error::{Category, ErrorKind};
use crate::{from_bytes, to_vec};

/// `parse_bytes`: any bytes into [`from_bytes`]. Never panics; when the bytes are a
/// device, serializing and parsing again gives the same device, and serialization is a
/// fixpoint.
pub fn parse_bytes(data: &[u8]) -> Result<(), String> {
    let Ok(device) = from_bytes(data) else {
        return Ok(());
    };
    let bytes = to_vec(&device);
    let again = from_bytes(&bytes).map_err(|e| {
        format!(
            "serialized device does not parse: {e}: {}",
            String::from_utf8_lossy(&bytes)
        )
    })?;
    if again != device {
        return Err(format!(
            "round-trip changed the device:\n  first:  {device:?}\n  second: {again:?}"
        ));
    }
    let twice = to_vec(&again);
    if twice != bytes {
        return Err(format!(
            "serialization is not a fixpoint:\n  {}\n  {}",
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&twice)
        ));
    }
    Ok(())
}

/// `parse_differential`: is this readable JSON? Our answer (no syntax-category error)
/// against `serde_json::from_slice::<Value>`. The documented, deliberate differences:
///
/// - nesting of 65 to 128 levels: we reject it (`json.structure.depth`), serde_json's
///   recursion limit is 128;
/// - numbers outside the `f64` range (`1e400`): JSON's grammar allows them and so do we;
///   serde_json (without `arbitrary_precision`) rejects them.
///
/// Duplicate members, lone surrogates, a BOM and non-objects get the same readability
/// verdict from both (duplicates and non-objects are readable but not devices).
pub fn parse_differential(data: &[u8]) -> Result<(), String> {
    let ours = from_bytes(data);
    let ours_readable = !matches!(&ours, Err(e) if e.category() == Category::Syntax);
    let theirs = serde_json::from_slice::<serde_json::Value>(data);
    match (ours_readable, &theirs) {
        (true, Ok(_)) | (false, Err(_)) => Ok(()),
        (false, Ok(_)) => match &ours {
            Err(e) if matches!(e.kind, ErrorKind::TooDeep { .. }) => Ok(()),
            Err(e) => Err(format!("we call readable JSON unreadable: {e}")),
            Ok(_) => Ok(()),
        },
        (true, Err(e)) if e.to_string().contains("number out of range") => Ok(()),
        (true, Err(e)) => Err(format!("we read JSON that serde_json rejects ({e})")),
    }
}

/// `roundtrip_structured`: an `Arbitrary` device serializes and parses back equal,
/// compactly and in an arbitrary spelling.
#[cfg(feature = "arbitrary")]
pub fn roundtrip_structured(data: &[u8]) -> Result<(), String> {
    use arbitrary::{Arbitrary, Unstructured};

    use crate::Profile;
    use crate::generate::render::render;
    let mut u = Unstructured::new(data);
    let Ok(device) = crate::Device::arbitrary(&mut u) else {
        return Ok(());
    };
    let compact = to_vec(&device);
    let parsed = from_bytes(&compact).map_err(|e| format!("compact form rejected: {e}"))?;
    if parsed != device {
        return Err(format!("compact round-trip changed {device:?}"));
    }
    let spelled = render(Profile::seed(), &device, &mut u);
    let parsed = from_bytes(&spelled).map_err(|e| {
        format!(
            "spelling rejected: {e}: {}",
            String::from_utf8_lossy(&spelled)
        )
    })?;
    if parsed != device {
        return Err(format!(
            "spelling changed the device: {}",
            String::from_utf8_lossy(&spelled)
        ));
    }
    Ok(())
}

/// `malformed_agreement`: an `Arbitrary` (valid device, defect) made malformed is rejected
/// with exactly the defect's rule and pointer; size and header defects keep a valid body.
#[cfg(feature = "arbitrary")]
pub fn malformed_agreement(data: &[u8]) -> Result<(), String> {
    use arbitrary::{Arbitrary, Unstructured};

    use crate::Profile;
    use crate::generate::malformed::{Defect, Layer, malformed};
    let mut u = Unstructured::new(data);
    let Ok((device, defect)) = <(crate::Device, Defect)>::arbitrary(&mut u) else {
        return Ok(());
    };
    let Some(case) = malformed(Profile::seed(), &device, defect, &mut u) else {
        return Err(format!("{defect} does not apply to the seed profile"));
    };
    let verdict = from_bytes(&case.bytes);
    let agrees = match defect.layer() {
        Layer::Body => match &verdict {
            Err(e) => {
                Some(e.kind.rule()) == case.expected.rule
                    && (case.expected.pointer.is_none() || e.pointer == case.expected.pointer)
            }
            Ok(_) => false,
        },
        Layer::Size | Layer::Request => verdict.is_ok(),
    };
    if agrees {
        Ok(())
    } else {
        Err(format!(
            "{defect} ({}): expected {:?} at {:?}, parser said {:?}",
            case.description,
            case.expected.rule,
            case.expected.pointer,
            verdict.err().map(|e| (e.kind.rule(), e.pointer))
        ))
    }
}

/// `server_request`: an `Arbitrary` HTTP request (method, path, headers, body) to the
/// reference server's router, in-process over an in-memory store: never a 5xx; a 201 is
/// followed by a GET that returns the same bytes.
#[cfg(all(feature = "arbitrary", feature = "server"))]
pub fn server_request(data: &[u8]) -> Result<(), String> {
    server::run(data)
}

#[cfg(all(feature = "arbitrary", feature = "server"))]
mod server;
