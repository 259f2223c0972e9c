//! `devices-harness corpus export`: language-agnostic test vectors for this contract, like
//! JSONTestSuite: `valid/NNNN.json`, `malformed/<class>/NNNN.json` (raw bytes, possibly
//! not UTF-8) and a `manifest.json` saying what each must get. The README documents the
//! format.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::generate::fast::Generator;
use crate::generate::malformed::Defect;
use crate::generate::record::Record;

/// `corpus` subcommands.
#[derive(Debug, Subcommand)]
pub enum CorpusCommand {
    /// Write test vectors to a directory.
    Export(ExportArgs),
}

/// Arguments of `corpus export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The directory to write (created when missing).
    #[arg(long)]
    pub dir: PathBuf,
    /// Valid files, and files per malformed class (`body-too-large`, 4 MiB each, at most 1).
    #[arg(long, default_value_t = 20)]
    pub count: usize,
    /// The seed: the same seed gives the same files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A built-in profile (`seed`, `graph-v1`, `graph-beta`) or a TOML profile file.
    #[arg(long, default_value = "seed")]
    pub profile: String,
    /// Replace the corpus in a non-empty directory.
    #[arg(long)]
    pub force: bool,
}

/// The manifest: every file and what it must get.
#[derive(Serialize)]
struct Manifest {
    format: &'static str,
    generator: String,
    profile: String,
    seed: u64,
    cases: Vec<Entry>,
}

#[derive(Serialize)]
struct Entry {
    file: String,
    #[serde(flatten)]
    record: Record,
}

/// Runs a `corpus` subcommand; returns the exit code.
pub fn run(cmd: &CorpusCommand) -> anyhow::Result<u8> {
    match cmd {
        CorpusCommand::Export(args) => export(args),
    }
}

fn export(args: &ExportArgs) -> anyhow::Result<u8> {
    let dir = &args.dir;
    let non_empty = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if non_empty && !args.force {
        bail!(
            "{} is not empty; pass --force to replace its corpus",
            dir.display()
        );
    }
    for old in ["valid", "malformed"] {
        let p = dir.join(old);
        if p.exists() {
            std::fs::remove_dir_all(&p)
                .with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    let profile = super::load_profile(&args.profile)?;
    let profile_name = profile.name().to_owned();
    let mut g = Generator::with_profile(profile, args.seed);
    let mut cases = Vec::new();
    for i in 0..args.count {
        let (_, bytes, headers) = g.valid_request();
        let file = format!("valid/{i:04}.json");
        write(dir, &file, &bytes)?;
        let mut record = Record::valid(&bytes, &headers);
        record.body = None;
        cases.push(Entry { file, record });
    }
    for defect in Defect::all() {
        let count = if defect == Defect::BodyTooLarge {
            args.count.min(1)
        } else {
            args.count
        };
        for i in 0..count {
            let Some(case) = g.malformed_of(defect) else {
                break;
            };
            let file = format!("malformed/{}/{i:04}.json", defect.class());
            write(dir, &file, &case.bytes)?;
            let mut record = Record::malformed(&case);
            (record.body, record.body_base64) = (None, None);
            cases.push(Entry { file, record });
        }
    }
    let total = cases.len();
    let manifest = Manifest {
        format: "devices-harness-corpus/1",
        generator: format!("devices-harness {}", env!("CARGO_PKG_VERSION")),
        profile: profile_name,
        seed: args.seed,
        cases,
    };
    let text = serde_json::to_vec_pretty(&manifest)?;
    write(dir, "manifest.json", &text)?;
    eprintln!("wrote {total} cases and manifest.json to {}", dir.display());
    Ok(0)
}

fn write(dir: &Path, file: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let path = dir.join(file);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
