//! Reading records from files: native JSON Lines, schema.org ClaimReview and the CheckThat! sets.
//!
//! Every reader yields `Result<Record>` items; an error names the file, the line and the field.
//! Files may be gzip-compressed (`.gz`); directories are walked recursively, in name order.

pub mod checkthat;
pub mod claimreview;
pub mod jsonl;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressStyle};

use crate::model::Record;
use crate::{Error, Result};

/// The input formats claimdex reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Native JSON Lines (`.jsonl`, `.ndjson`).
    Native,
    /// schema.org ClaimReview JSON-LD (`.json`, `.jsonld`).
    ClaimReview,
    /// CheckThat! 2020 `verified_claims.docs.tsv` (`.tsv`).
    CheckThat2020,
    /// CheckThat! 2021-2B `vclaims.jsonl` (`.jsonl` whose lines have `vclaim_id`).
    CheckThat2021,
}

/// A stream of records from one or more inputs.
pub type Records = Box<dyn Iterator<Item = Result<Record>> + Send>;

fn extension(path: &Path) -> (String, bool) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
    let (name, gz) = match name.strip_suffix(".gz") {
        Some(n) => (n.to_string(), true),
        None => (name, false),
    };
    (name.rsplit_once('.').map(|(_, e)| e.to_string()).unwrap_or_default(), gz)
}

/// True for file names claimdex reads when walking a directory.
pub fn is_input(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with('.') || name.ends_with(".meta.json") {
        return false;
    }
    matches!(extension(path).0.as_str(), "jsonl" | "ndjson" | "json" | "jsonld" | "tsv")
}

/// The files to read for the given paths: files as given, directories walked for known extensions.
pub fn files_under(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if meta.is_dir() {
            let walk = walkdir::WalkDir::new(p).follow_links(false).sort_by_file_name();
            for entry in walk {
                let entry = entry.map_err(|e| {
                    let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| p.clone());
                    Error::io(path, e.into())
                })?;
                if entry.file_type().is_file() && is_input(entry.path()) {
                    out.push(entry.into_path());
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn open(path: &Path, progress: &ProgressBar) -> Result<Box<dyn BufRead + Send>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let counted = progress.wrap_read(file);
    if extension(path).1 {
        Ok(Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(counted))))
    } else {
        Ok(Box::new(BufReader::with_capacity(1 << 16, counted)))
    }
}

/// Decides a file's format from its extension and, for JSON Lines, its first line.
pub fn detect(path: &Path) -> Result<Format> {
    match extension(path).0.as_str() {
        "tsv" => Ok(Format::CheckThat2020),
        "json" | "jsonld" => Ok(Format::ClaimReview),
        "jsonl" | "ndjson" => {
            let mut r = open(path, &ProgressBar::hidden())?;
            let mut first = String::new();
            // Look at the first non-empty line, read up to 64 KiB of it.
            loop {
                first.clear();
                let mut buf = Vec::new();
                if (&mut r).take(1 << 16).read_until(b'\n', &mut buf).map_err(|e| Error::io(path, e))? == 0 {
                    break;
                }
                first = String::from_utf8_lossy(&buf).into_owned();
                if !first.trim().is_empty() {
                    break;
                }
            }
            if first.contains("\"vclaim_id\"") {
                Ok(Format::CheckThat2021)
            } else {
                Ok(Format::Native)
            }
        }
        other => Err(Error::ingest(
            path,
            0,
            "-",
            format!("unknown file type `.{other}`: expected .jsonl, .ndjson, .json, .jsonld or .tsv (optionally .gz)"),
        )),
    }
}

/// Reads one file, whatever its format.
pub fn read_file(path: &Path, progress: &ProgressBar) -> Result<Records> {
    let format = detect(path)?;
    let reader = open(path, progress)?;
    Ok(match format {
        Format::Native => Box::new(jsonl::read(reader, path)),
        Format::CheckThat2020 => Box::new(checkthat::read_2020(reader, path)),
        Format::CheckThat2021 => Box::new(checkthat::read_2021(reader, path)),
        Format::ClaimReview => {
            return Err(Error::ingest(path, 0, "-", "ClaimReview import is not available in this build"));
        }
    })
}

/// Reads every file under the given paths, in order, as one stream. A progress bar is drawn on
/// stderr (when it is a terminal) if `progress` is set.
pub fn read_paths(paths: &[PathBuf], progress: bool) -> Result<Records> {
    let files = files_under(paths)?;
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let bar = if progress && total > 1 << 20 {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {wide_bar} {bytes}/{total_bytes} {eta} {msg}")
                .expect("the template is valid"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let finish = bar.clone();
    let iter = files
        .into_iter()
        .flat_map(move |f| -> Records {
            bar.set_message(f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            match read_file(&f, &bar) {
                Ok(records) => records,
                Err(e) => Box::new(std::iter::once(Err(e))),
            }
        })
        .chain(std::iter::from_fn(move || {
            finish.finish_and_clear();
            None
        }));
    Ok(Box::new(iter))
}
