//! The CSV form of a report: one row per item, every nested figure a column named by its
//! path joined with `_` (list items numbered from 1), values as in JSON, nulls empty.

use crate::ledger::export::csv_field;
use serde::Serialize;
use serde_json::Value;

/// The column that leads every row when present (the material a row is about).
const LEADING: &str = "material";

fn flatten(prefix: String, v: &Value, out: &mut Vec<(String, String)>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}_{key}")
        }
    };
    match v {
        Value::Object(fields) => {
            let lead = fields.get_key_value(LEADING).filter(|_| prefix.is_empty());
            let rest = fields
                .iter()
                .filter(|(k, _)| !prefix.is_empty() || *k != LEADING);
            for (k, v) in lead.into_iter().chain(rest) {
                flatten(join(k), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(join(&(i + 1).to_string()), v, out);
            }
        }
        Value::Null => out.push((prefix, String::new())),
        Value::String(s) => out.push((prefix, s.clone())),
        other => out.push((prefix, other.to_string())),
    }
}

/// The rows as CSV with a header: the union of every row's columns in the order first seen.
pub fn render<T: Serialize>(rows: &[T]) -> String {
    let flat: Vec<Vec<(String, String)>> = rows
        .iter()
        .map(|r| {
            let mut cells = Vec::new();
            // Views serialize to plain JSON; a failure would be a bug, rendered as no cells.
            flatten(
                String::new(),
                &serde_json::to_value(r).unwrap_or_default(),
                &mut cells,
            );
            cells
        })
        .collect();
    let mut header: Vec<&str> = Vec::new();
    for (k, _) in flat.iter().flatten() {
        if !header.contains(&k.as_str()) {
            header.push(k);
        }
    }
    let mut out = String::new();
    line(&mut out, header.iter().copied());
    for cells in &flat {
        line(
            &mut out,
            header.iter().map(|h| {
                cells
                    .iter()
                    .find(|(k, _)| k == h)
                    .map_or("", |(_, v)| v.as_str())
            }),
        );
    }
    out
}

fn line<'a>(out: &mut String, fields: impl Iterator<Item = &'a str>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, f);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_figures_become_columns() {
        let rows = [
            json!({"on_hand": "5", "material": "GA", "by_tier": {"defense": {"served": "1"}},
                   "days": null, "alert": true, "by_origin": [{"country": "CN"}]}),
            json!({"on_hand": "7", "material": "NI", "by_tier": {"defense": {"served": "2"}},
                   "days": "1.5", "alert": false, "by_origin": [{"country": "AU"}, {"country": "a,b"}]}),
        ];
        let csv = render(&rows);
        let lines: Vec<&str> = csv.split('\n').collect();
        assert_eq!(
            lines[0],
            "material,alert,by_origin_1_country,by_tier_defense_served,days,on_hand,by_origin_2_country"
        );
        assert_eq!(lines[1], "GA,true,CN,1,,5,");
        assert_eq!(lines[2], "NI,false,AU,2,1.5,7,\"a,b\"");
        assert_eq!(lines[3], "");
    }
}
