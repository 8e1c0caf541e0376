//! The auditor's export: every entry in a range, in seq order, as JSON lines or CSV,
//! written page by page into a sink so that memory does not grow with the ledger.

use super::read::{for_each, EntryView, Range, Scales, PAGE};
use crate::db::DbConnection;
use crate::domain::values::Id;
use std::io;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            _ => Err("format must be jsonl or csv".into()),
        }
    }
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jsonl => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

pub const CSV_HEADER: &str =
    "seq,entry_id,recorded_at,effective_date,kind,reference,account,asset,amount,hash,prev_hash\n";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    /// The reader went away (client disconnected, disk full).
    #[error("writing the export: {0}")]
    Sink(#[from] io::Error),
}

/// One CSV field, quoted when it needs to be (RFC 4180).
pub(crate) fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

fn render(out: &mut String, format: Format, e: &EntryView) {
    match format {
        Format::Jsonl => {
            // Serializing plain strings and numbers cannot fail.
            out.push_str(&serde_json::to_string(e).unwrap_or_default());
            out.push('\n');
        }
        Format::Csv => {
            for p in &e.postings {
                let fields = [
                    e.seq.to_string(),
                    e.id.to_string(),
                    e.recorded_at.to_string(),
                    e.effective_text().unwrap_or_default(),
                    e.kind.clone(),
                    e.reference.as_ref().map(Id::to_string).unwrap_or_default(),
                    p.account.clone(),
                    p.asset.clone(),
                    p.amount.to_string(),
                    e.hash.clone(),
                    e.prev_hash.clone(),
                ];
                for (i, f) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    csv_field(out, f);
                }
                out.push('\n');
            }
        }
    }
}

/// Buffer size handed to the sink at once.
const CHUNK: usize = 64 * 1024;

/// Writes the export of `range` to `sink` (run it in a snapshot); returns entries written.
pub fn write(
    conn: &mut DbConnection,
    format: Format,
    range: Range,
    sink: &mut dyn FnMut(String) -> io::Result<()>,
    progress: &mut dyn FnMut(i64),
) -> Result<i64, ExportError> {
    let scales = Scales::load(conn)?;
    let mut buf = String::with_capacity(CHUNK + 4096);
    if format == Format::Csv {
        buf.push_str(CSV_HEADER);
    }
    let mut count = 0i64;
    for_each(conn, range, PAGE, |row, postings| {
        render(&mut buf, format, &EntryView::new(row, postings, &scales));
        count += 1;
        if buf.len() >= CHUNK {
            sink(std::mem::replace(
                &mut buf,
                String::with_capacity(CHUNK + 4096),
            ))?;
            progress(count);
        }
        Ok::<_, ExportError>(true)
    })?;
    if !buf.is_empty() {
        sink(buf)?;
    }
    progress(count);
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        let mut s = String::new();
        csv_field(&mut s, "inventory:NV1:GA");
        s.push(',');
        csv_field(&mut s, "a,\"b\"");
        assert_eq!(s, "inventory:NV1:GA,\"a,\"\"b\"\"\"");
    }
}
