//! The structure description (`.st`) file: one [`StLine`] per extent, in the OpenEdge grammar
//! `type ["Area Name"[:number][,records-per-block][;blocks-per-cluster]] path [f|v SIZE]`.
//! Parsing checks syntax only (numbers are numbers, tokens are where they belong); the rules
//! about areas, sizes and paths are checked when a catalogue is built from the file. Printing
//! a parsed file gives text that parses back to an equal file, apart from line numbers.

use std::fmt;

mod parse;
#[cfg(test)]
mod tests;

/// What an `.st` line describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// `a`: an after-image extent.
    Ai,
    /// `b`: a before-image extent.
    Bi,
    /// `d`: an extent of the Schema Area or of a data area.
    Data,
    /// `t`: a transaction log extent (parsed, never accepted by a catalogue).
    TransactionLog,
}

impl LineKind {
    /// The line's type letter.
    pub fn letter(self) -> char {
        match self {
            LineKind::Ai => 'a',
            LineKind::Bi => 'b',
            LineKind::Data => 'd',
            LineKind::TransactionLog => 't',
        }
    }
}

/// The size information at the end of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtentSize {
    /// No size: a variable extent without a maximum.
    Variable,
    /// `v SIZE`: a variable extent that grows up to `kib`.
    VariableMax {
        /// The maximum size in KiB.
        kib: u64,
    },
    /// `f SIZE`: a fixed extent of `kib`.
    Fixed {
        /// The size in KiB.
        kib: u64,
    },
}

impl ExtentSize {
    /// The size from a catalogue extent's `fixed` flag and `size_kib` (0 = no maximum).
    pub fn from_parts(fixed: bool, size_kib: u64) -> ExtentSize {
        match (fixed, size_kib) {
            (true, kib) => ExtentSize::Fixed { kib },
            (false, 0) => ExtentSize::Variable,
            (false, kib) => ExtentSize::VariableMax { kib },
        }
    }

    /// `(fixed, size_kib)` as stored in a catalogue extent.
    pub fn to_parts(self) -> (bool, u64) {
        match self {
            ExtentSize::Variable => (false, 0),
            ExtentSize::VariableMax { kib } => (false, kib),
            ExtentSize::Fixed { kib } => (true, kib),
        }
    }
}

/// One extent line of a `.st` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StLine {
    /// The line type.
    pub kind: LineKind,
    /// The quoted area name, if the line has area information.
    pub area_name: Option<String>,
    /// `:number` of the area information.
    pub area_number: Option<u32>,
    /// `,records-per-block` of the area information.
    pub records_per_block: Option<u32>,
    /// `;blocks-per-cluster` of the area information.
    pub blocks_per_cluster: Option<u32>,
    /// The path as written (absolute, relative, or a directory for a generated name).
    pub path: String,
    /// The size information.
    pub size: ExtentSize,
    /// 1-based line number in the text it was parsed from (0 when built in code).
    pub line: usize,
}

/// A parsed `.st` file: its extent lines in order (comments and blank lines are dropped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StFile {
    /// The extent lines, in file order.
    pub lines: Vec<StLine>,
}

impl StFile {
    /// Parses `.st` text. Errors name the 1-based line and column of the offending token.
    pub fn parse(text: &str) -> Result<StFile, crate::Error> {
        parse::parse(text)
    }
}

/// True if `text` must be quoted to read back as one token.
fn needs_quotes(text: &str) -> bool {
    text.is_empty() || text.starts_with('"') || text.chars().any(char::is_whitespace)
}

impl fmt::Display for StLine {
    /// One line without its newline. Area information is printed only with a name (the grammar
    /// has no form without one); a text containing both `"` and white space cannot be printed
    /// so that it reads back, nor can a line break.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind.letter())?;
        if let Some(name) = &self.area_name {
            write!(f, " \"{name}\"")?;
            if let Some(n) = self.area_number {
                write!(f, ":{n}")?;
            }
            if let Some(r) = self.records_per_block {
                write!(f, ",{r}")?;
            }
            if let Some(b) = self.blocks_per_cluster {
                write!(f, ";{b}")?;
            }
        }
        if needs_quotes(&self.path) {
            write!(f, " \"{}\"", self.path)?;
        } else {
            write!(f, " {}", self.path)?;
        }
        match self.size {
            ExtentSize::Variable => Ok(()),
            ExtentSize::VariableMax { kib } => write!(f, " v {kib}"),
            ExtentSize::Fixed { kib } => write!(f, " f {kib}"),
        }
    }
}

impl fmt::Display for StFile {
    /// Every line followed by a newline; parses back to an equal file (line numbers aside).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
