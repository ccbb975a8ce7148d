//! The `.st` parser: a lexer that splits a line into bare and quoted tokens with their
//! 1-based columns, and a line parser that reads type, area information, path and size.
//! Every error carries the line and the column of the token it is about.

use super::{ExtentSize, LineKind, StFile, StLine};
use crate::Error;

/// One token of a line.
struct Token {
    /// 1-based column of its first character.
    column: usize,
    /// What it holds.
    kind: Tok,
}

/// The two shapes of a token.
enum Tok {
    /// A run of non-blank characters not starting with `"`.
    Bare(String),
    /// `"content"` followed directly by `suffix` (non-blank characters up to the next blank).
    Quoted {
        /// The text between the quotes.
        content: String,
        /// Whatever follows the closing quote before the next blank.
        suffix: String,
        /// 1-based column of the suffix's first character.
        suffix_column: usize,
    },
}

impl Token {
    /// The token as written (for messages).
    fn text(&self) -> String {
        match &self.kind {
            Tok::Bare(s) => s.clone(),
            Tok::Quoted {
                content, suffix, ..
            } => format!("\"{content}\"{suffix}"),
        }
    }
}

/// The size types of the grammar.
enum SizeType {
    Fixed,
    VariableMax,
    Unsupported,
}

/// The size type named by `word`, if it is one.
fn size_type(word: &str) -> Option<SizeType> {
    match word.to_ascii_lowercase().as_str() {
        "f" => Some(SizeType::Fixed),
        "v" => Some(SizeType::VariableMax),
        "e" | "ev" | "x" | "xv" => Some(SizeType::Unsupported),
        _ => None,
    }
}

/// Parses a whole `.st` text.
pub(super) fn parse(text: &str) -> Result<StFile, Error> {
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with(['#', ':', '*']) {
            continue;
        }
        lines.push(parse_line(raw, index + 1)?);
    }
    Ok(StFile { lines })
}

/// Splits a line into tokens.
fn lex(chars: &[char], line: usize) -> Result<Vec<Token>, Error> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if chars[i] == '"' {
            let Some(close) = chars[i + 1..].iter().position(|&c| c == '"') else {
                return Err(Error::parse(
                    line,
                    start + 1,
                    "unterminated quoted text: add the closing `\"`",
                ));
            };
            let close = i + 1 + close;
            let content: String = chars[i + 1..close].iter().collect();
            i = close + 1;
            let suffix_start = i;
            while i < chars.len() && !chars[i].is_whitespace() {
                i += 1;
            }
            tokens.push(Token {
                column: start + 1,
                kind: Tok::Quoted {
                    content,
                    suffix: chars[suffix_start..i].iter().collect(),
                    suffix_column: suffix_start + 1,
                },
            });
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                i += 1;
            }
            tokens.push(Token {
                column: start + 1,
                kind: Tok::Bare(chars[start..i].iter().collect()),
            });
        }
    }
    Ok(tokens)
}

/// Parses one non-comment, non-blank line.
fn parse_line(raw: &str, line: usize) -> Result<StLine, Error> {
    let chars: Vec<char> = raw.chars().collect();
    let end_column = chars.len() + 1;
    let tokens = lex(&chars, line)?;
    let (first, mut rest) = tokens.split_first().expect("a non-blank line has a token");
    let kind = match &first.kind {
        Tok::Bare(word) => match word.as_str() {
            "a" | "A" => Some(LineKind::Ai),
            "b" | "B" => Some(LineKind::Bi),
            "d" | "D" => Some(LineKind::Data),
            "t" | "T" => Some(LineKind::TransactionLog),
            _ => None,
        },
        Tok::Quoted { .. } => None,
    };
    let Some(kind) = kind else {
        return Err(Error::parse(
            line,
            first.column,
            format!(
                "unknown line type `{}`: expected a, b, d or t",
                first.text()
            ),
        ));
    };

    let mut size = ExtentSize::Variable;
    if rest.len() >= 2 {
        let type_token = &rest[rest.len() - 2];
        if let Tok::Bare(word) = &type_token.kind
            && let Some(size_kind) = size_type(word)
        {
            let number_token = &rest[rest.len() - 1];
            let kib = match size_kind {
                SizeType::Unsupported => {
                    return Err(Error::UnsupportedExtentType {
                        line,
                        column: type_token.column,
                        found: word.clone(),
                    });
                }
                SizeType::Fixed | SizeType::VariableMax => parse_size(number_token, word, line)?,
            };
            size = match size_kind {
                SizeType::Fixed => ExtentSize::Fixed { kib },
                _ => ExtentSize::VariableMax { kib },
            };
            rest = &rest[..rest.len() - 2];
        }
    }

    let Some(head) = rest.first() else {
        let column = tokens.get(1).map_or(end_column, |t| t.column);
        return Err(Error::parse(
            line,
            column,
            format!("missing path after `{}`", first.text()),
        ));
    };

    let mut area = AreaInfo::default();
    if let Tok::Quoted {
        content,
        suffix,
        suffix_column,
    } = &head.kind
        && (rest.len() >= 2 || !suffix.is_empty())
    {
        area = parse_area_info(content, head.column, suffix, *suffix_column, line)?;
        rest = &rest[1..];
    }

    let Some(path_token) = rest.first() else {
        let column = tokens
            .iter()
            .find(|t| t.column > head.column)
            .map_or(end_column, |t| t.column);
        return Err(Error::parse(
            line,
            column,
            "missing path after the area information",
        ));
    };
    let path = match &path_token.kind {
        Tok::Bare(text) => text.clone(),
        Tok::Quoted {
            content,
            suffix,
            suffix_column,
        } => {
            if !suffix.is_empty() {
                return Err(Error::parse(
                    line,
                    *suffix_column,
                    format!("unexpected `{suffix}` after the closing quote of the path"),
                ));
            }
            if content.is_empty() {
                return Err(Error::parse(line, path_token.column, "empty path"));
            }
            content.clone()
        }
    };

    if let Some(extra) = rest.get(1) {
        let text = extra.text();
        let message = if rest.len() == 2 && size_type(&text).is_some() {
            format!("missing size in KiB after `{text}`")
        } else {
            format!("unexpected `{text}` after the path; expected `f SIZE`, `v SIZE` or nothing")
        };
        return Err(Error::parse(line, extra.column, message));
    }

    Ok(StLine {
        kind,
        area_name: area.name,
        area_number: area.number,
        records_per_block: area.records_per_block,
        blocks_per_cluster: area.blocks_per_cluster,
        path,
        size,
        line,
    })
}

/// The size number after a size type.
fn parse_size(token: &Token, type_word: &str, line: usize) -> Result<u64, Error> {
    if let Tok::Bare(text) = &token.kind
        && !text.is_empty()
        && text.chars().all(|c| c.is_ascii_digit())
    {
        return text
            .parse::<u64>()
            .map_err(|_| Error::parse(line, token.column, format!("size `{text}` is too large")));
    }
    Err(Error::parse(
        line,
        token.column,
        format!(
            "expected a size in KiB after `{type_word}`, found `{}`",
            token.text()
        ),
    ))
}

/// The parts of `"name":number,rpb;bpc`.
#[derive(Default)]
struct AreaInfo {
    name: Option<String>,
    number: Option<u32>,
    records_per_block: Option<u32>,
    blocks_per_cluster: Option<u32>,
}

/// Parses area information: the quoted name and the suffix after its closing quote.
fn parse_area_info(
    name: &str,
    name_column: usize,
    suffix: &str,
    suffix_column: usize,
    line: usize,
) -> Result<AreaInfo, Error> {
    if name.is_empty() {
        return Err(Error::parse(line, name_column, "empty area name"));
    }
    let chars: Vec<char> = suffix.chars().collect();
    let mut at = 0;
    let mut number = |sep: char, what: &str| -> Result<Option<u32>, Error> {
        if chars.get(at) != Some(&sep) {
            return Ok(None);
        }
        at += 1;
        let start = at;
        while at < chars.len() && chars[at].is_ascii_digit() {
            at += 1;
        }
        let column = suffix_column + start;
        if start == at {
            return Err(Error::parse(
                line,
                column,
                format!("expected {what} after `{sep}`"),
            ));
        }
        let digits: String = chars[start..at].iter().collect();
        digits
            .parse::<u32>()
            .map(Some)
            .map_err(|_| Error::parse(line, column, format!("{what} `{digits}` is too large")))
    };
    let info = AreaInfo {
        name: Some(name.to_string()),
        number: number(':', "an area number")?,
        records_per_block: number(',', "records per block")?,
        blocks_per_cluster: number(';', "blocks per cluster")?,
    };
    if at < chars.len() {
        return Err(Error::parse(
            line,
            suffix_column + at,
            format!(
                "unexpected `{}` in the area information; expected `:number`, `,records-per-block`, `;blocks-per-cluster` in that order",
                chars[at]
            ),
        ));
    }
    Ok(info)
}
