//! The bodies of the fuzz targets in `fuzz/`, kept in the library so that `cargo test`
//! replays the checked-in corpus and regressions through the very same code on stable.

use crate::{from_bytes, to_vec};

/// `parse_bytes`: any bytes into [`from_bytes`]. Never panics; when the bytes are a
/// device, serializing and parsing again gives the same device, and serialization is a
/// fixpoint. Returns what broke, for the caller to panic on (the fuzzer) or report (tests).
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
