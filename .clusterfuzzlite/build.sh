#!/bin/bash -eu
# Builds every fuzz target into $OUT with its seed corpus and dictionary, for
# ClusterFuzzLite / OSS-Fuzz (inside their image) or locally without Docker:
#
#   OUT=target/cflite .clusterfuzzlite/build.sh        # SANITIZER=none when no nightly
#
# Inside the image SRC, OUT and SANITIZER are set and cargo-fuzz is on nightly.
if [ -n "${SRC:-}" ] && [ -f "$SRC/devices-harness/Cargo.toml" ]; then
  root="$SRC/devices-harness"
else
  root="$(cd "$(dirname "$0")/.." && pwd)"
fi
cd "$root"
OUT="${OUT:-$root/target/cflite}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
sanitizer="${SANITIZER:-address}"
toolchain=()
if [ "$sanitizer" != none ]; then
  if rustup run nightly true >/dev/null 2>&1; then
    toolchain=(+nightly)
  else
    echo "no nightly toolchain: building without a sanitizer" >&2
    sanitizer=none
  fi
fi
case "$sanitizer" in
  address|none|memory|thread|leak) ;;
  *) sanitizer=none ;; # undefined and coverage: cargo-fuzz has no such sanitizer flag
esac
# `--features server` adds the server target (the parser targets need only the core).
cargo "${toolchain[@]}" fuzz build -O --sanitizer "$sanitizer" --features server
bin="fuzz/target/x86_64-unknown-linux-gnu/release"
for target in $(cargo "${toolchain[@]}" fuzz list); do
  cp "$bin/$target" "$OUT/"
  cp fuzz/devices.dict "$OUT/$target.dict"
  if [ -d "fuzz/corpus/$target" ]; then
    (cd "fuzz/corpus/$target" && python3 -m zipfile -c "$OUT/${target}_seed_corpus.zip" .)
  fi
done
echo "built into $OUT: $(cd "$OUT" && ls | tr '\n' ' ')"
