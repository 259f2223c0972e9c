//! `devices-harness gen`: generated cases as NDJSON on stdout, one per line, for piping
//! into other tools.

use std::io::Write;

use anyhow::{Context, bail};
use clap::Args;

use crate::generate::fast::Generator;
use crate::generate::malformed::Defect;
use crate::generate::record::Record;

/// Arguments of `gen`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["valid", "malformed", "list"]))]
pub struct GenArgs {
    /// Valid devices (in varied spellings), expected 201.
    #[arg(long)]
    pub valid: bool,
    /// Malformed cases: of one CLASS, or of every class by default weight.
    #[arg(long, value_name = "CLASS", num_args = 0..=1, default_missing_value = "")]
    pub malformed: Option<String>,
    /// List the malformed classes with their descriptions, and exit.
    #[arg(long)]
    pub list: bool,
    /// How many cases.
    #[arg(long, default_value_t = 10)]
    pub count: u64,
    /// The seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A built-in profile (`seed`, `graph-v1`, `graph-beta`) or a TOML profile file.
    #[arg(long, default_value = "seed")]
    pub profile: String,
}

/// Runs `gen`; returns the exit code.
pub fn run(args: &GenArgs) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    if args.list {
        for d in Defect::all() {
            writeln!(out, "{:<26} {}", d.class(), d.describe())?;
        }
        return Ok(0);
    }
    let profile = super::load_profile(&args.profile)?;
    let mut g = Generator::with_profile(profile, args.seed);
    let class = match args.malformed.as_deref() {
        None | Some("") => None,
        Some(name) => match Defect::from_class(name) {
            Some(d) => Some(d),
            None => bail!("unknown malformed class '{name}' (see `devices-harness gen --list`)"),
        },
    };
    for _ in 0..args.count {
        let record = if args.valid {
            let (_, bytes, headers) = g.valid_request();
            Record::valid(&bytes, &headers)
        } else {
            let case = match class {
                Some(d) => g
                    .malformed_of(d)
                    .with_context(|| format!("class '{d}' does not apply to this profile"))?,
                None => g.malformed(),
            };
            Record::malformed(&case)
        };
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
    }
    Ok(0)
}
