//! The text form of workload records: `name=value` fields separated by `;`.
//!
//! Invariant: a value read back from the database is parsed here into a [`Fields`] view and
//! every number is range-checked on the way out, so no stored text is trusted before use.
//! Field values written by this crate never contain `;` or `=`.

use crate::Error;

#[cfg(test)]
mod tests;

/// A parsed record value: its `name=value` fields, in stored order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fields<'a> {
    table: &'a str,
    key: &'a str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    /// Parses `value`, the value of record `key` in `table`.
    pub(crate) fn parse(table: &'a str, key: &'a str, value: &'a [u8]) -> Result<Self, Error> {
        let text = std::str::from_utf8(value).map_err(|_| Error::NotText {
            table: table.to_owned(),
            key: key.to_owned(),
        })?;
        let pairs = if text.is_empty() {
            Vec::new()
        } else {
            text.split(';')
                .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
                .collect()
        };
        Ok(Fields { table, key, pairs })
    }

    /// The text of field `name`.
    pub(crate) fn text(&self, name: &'static str) -> Result<&'a str, Error> {
        self.pairs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| self.bad(name))
    }

    /// Field `name` as a signed decimal integer.
    pub(crate) fn int(&self, name: &'static str) -> Result<i64, Error> {
        parse_int(self.text(name)?).ok_or_else(|| self.bad(name))
    }

    /// Field `name` as a decimal integer in `low..=high`.
    pub(crate) fn int_in(&self, name: &'static str, low: i64, high: i64) -> Result<i64, Error> {
        let n = self.int(name)?;
        if (low..=high).contains(&n) {
            Ok(n)
        } else {
            Err(self.bad(name))
        }
    }

    /// The error for a missing or invalid field `name`.
    pub(crate) fn bad(&self, name: &'static str) -> Error {
        bad_field(self.table, self.key, name)
    }

    /// The value with field `name` set to `value` (appended if absent), other fields unchanged.
    pub(crate) fn with(&self, name: &str, value: &str) -> String {
        let mut out = String::new();
        let mut found = false;
        for (n, v) in &self.pairs {
            if !out.is_empty() {
                out.push(';');
            }
            out.push_str(n);
            out.push('=');
            if *n == name && !found {
                out.push_str(value);
                found = true;
            } else {
                out.push_str(v);
            }
        }
        if !found {
            if !out.is_empty() {
                out.push(';');
            }
            out.push_str(name);
            out.push('=');
            out.push_str(value);
        }
        out
    }
}

/// The error for a missing or invalid field.
pub(crate) fn bad_field(table: &str, key: &str, field: &'static str) -> Error {
    Error::BadField {
        table: table.to_owned(),
        key: key.to_owned(),
        field,
    }
}

/// A canonical signed decimal integer: optional `-`, then digits without a leading zero (a lone
/// `0` aside), in `i64` range. Anything else is `None`.
pub(crate) fn parse_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    text.parse().ok()
}

/// The whole of a record's value as a decimal integer (the TPC-B balances).
pub(crate) fn value_int(table: &str, key: &str, value: &[u8]) -> Result<i64, Error> {
    let text = std::str::from_utf8(value).map_err(|_| Error::NotText {
        table: table.to_owned(),
        key: key.to_owned(),
    })?;
    parse_int(text).ok_or_else(|| bad_field(table, key, "balance"))
}

/// Builds `name=value;...` text from fields in order.
pub(crate) fn join(fields: &[(&str, &dyn std::fmt::Display)]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        write!(out, "{name}={value}").expect("writing to a String cannot fail");
    }
    out
}

/// A key: `prefix` then `n` zero-padded to `width` digits, so keys sort in number order.
pub(crate) fn key(prefix: &str, n: u64, width: usize) -> String {
    format!("{prefix}{n:0width$}")
}

/// The number in a key written by [`key`] with `prefix`, if it has that form.
pub(crate) fn key_number(prefix: &str, key: &str) -> Option<u64> {
    let digits = key.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
