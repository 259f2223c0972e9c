//! `devices-harness validate [FILE...]`: each input's verdict, for people's own fixtures.
//!
//! Prints `ok` or the broken rule with its place, HTTP status and Graph code. Exit 0 when
//! every input is a valid device, 1 when any is not, 2 when an input cannot be read.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::parse::from_bytes_with;

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files holding one device each; `-` or none reads stdin.
    pub files: Vec<PathBuf>,
    /// A built-in profile (`seed`, `graph-v1`, `graph-beta`) or a TOML profile file.
    #[arg(long, default_value = "seed")]
    pub profile: String,
    /// Output format: a line of text per input, or a JSON object per line.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How `validate` prints verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `NAME: ok` or `NAME: 400 CODE RULE at PLACE: MESSAGE`.
    Text,
    /// One JSON object per input (NDJSON).
    Json,
}

#[derive(Serialize)]
struct Verdict<'a> {
    input: &'a str,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pointer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// Runs `validate`; returns the exit code.
pub fn run(args: &ValidateArgs) -> anyhow::Result<u8> {
    let profile = super::load_profile(&args.profile)?;
    let stdin = [PathBuf::from("-")];
    let inputs = if args.files.is_empty() {
        &stdin[..]
    } else {
        &args.files[..]
    };
    let (mut invalid, mut unreadable) = (false, false);
    let mut out = std::io::stdout().lock();
    for path in inputs {
        let name = path.display().to_string();
        let body = if name == "-" {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map(|_| buf)
        } else {
            std::fs::read(path)
        };
        let body = match body {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: cannot read {name}: {e}");
                unreadable = true;
                continue;
            }
        };
        let result = from_bytes_with(&profile, &body);
        invalid |= result.is_err();
        let verdict = match &result {
            Ok(_) => Verdict {
                input: &name,
                valid: true,
                status: None,
                code: None,
                rule: None,
                pointer: None,
                offset: None,
                line: None,
                column: None,
                message: None,
            },
            Err(e) => {
                let (line, column) = e.line_column(&body);
                Verdict {
                    input: &name,
                    valid: false,
                    status: Some(e.status()),
                    code: Some(e.code().as_str()),
                    rule: Some(e.kind.rule().id().to_owned()),
                    pointer: e.pointer.clone(),
                    offset: Some(e.offset),
                    line: Some(line),
                    column: Some(column),
                    message: Some(e.message()),
                }
            }
        };
        match args.format {
            Format::Json => writeln!(out, "{}", serde_json::to_string(&verdict)?)?,
            Format::Text => match &result {
                Ok(_) => writeln!(out, "{name}: ok")?,
                Err(e) => {
                    let (line, column) = e.line_column(&body);
                    let place = match &e.pointer {
                        Some(p) => format!("{p} (line {line}, column {column})"),
                        None => format!("byte {} (line {line}, column {column})", e.offset),
                    };
                    writeln!(
                        out,
                        "{name}: {} {} {} at {place}: {}",
                        e.status(),
                        e.code(),
                        e.kind.rule(),
                        e.message()
                    )?;
                }
            },
        }
    }
    Ok(if unreadable {
        2
    } else if invalid {
        1
    } else {
        0
    })
}
