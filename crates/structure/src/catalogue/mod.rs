//! The catalogue of areas and extents: which areas the database has (control area 1, Primary
//! Recovery Area 3, Schema Area 6, data areas 7..=999, one AI area per AI extent from 1000)
//! and the absolute path, number and size of each extent. Areas are kept sorted by number and
//! every extent path is absolute and unique; a catalogue built by this crate or accepted by
//! `validate` keeps those invariants.

use std::path::{Path, PathBuf};

use masterblock::AreaNo;

use crate::st::{ExtentSize, LineKind, StFile, StLine};

pub(crate) mod build;
mod repair;
#[cfg(test)]
mod tests;

/// Area numbers as plain integers, for matching and arithmetic inside the crate.
pub(crate) mod num {
    /// The control area.
    pub const CONTROL: u32 = 1;
    /// The Primary Recovery Area.
    pub const BI: u32 = 3;
    /// The Schema Area.
    pub const SCHEMA: u32 = 6;
    /// The lowest user data area.
    pub const FIRST_USER: u32 = 7;
    /// The highest user data area.
    pub const LAST_USER: u32 = 999;
    /// The area of AI extent 1.
    pub const FIRST_AI: u32 = 1000;
}

/// Area number of the control area.
pub const CONTROL_AREA: AreaNo = AreaNo(num::CONTROL);
/// Area number of the Primary Recovery Area (the BI).
pub const BI_AREA: AreaNo = AreaNo(num::BI);
/// Area number of the Schema Area.
pub const SCHEMA_AREA: AreaNo = AreaNo(num::SCHEMA);
/// Lowest number of a user data area.
pub const FIRST_USER_AREA: AreaNo = AreaNo(num::FIRST_USER);
/// Highest number of a user data area.
pub const LAST_USER_AREA: AreaNo = AreaNo(num::LAST_USER);
/// Area number of AI extent 1; AI extent N is area `FIRST_AI_AREA + N - 1`. Kept clear of
/// the data area numbers so adding data areas never renumbers AI areas.
pub const FIRST_AI_AREA: AreaNo = AreaNo(num::FIRST_AI);

/// Name of the control area.
pub const CONTROL_AREA_NAME: &str = "Control Area";
/// Name of the BI area.
pub const BI_AREA_NAME: &str = "Primary Recovery Area";
/// Name of the Schema Area.
pub const SCHEMA_AREA_NAME: &str = "Schema Area";
/// Prefix of AI area names (`After Image Area N`).
pub const AI_AREA_PREFIX: &str = "After Image Area ";

/// What an area holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AreaKind {
    /// The control area (`db.db`); on disk 1.
    Control,
    /// The Primary Recovery Area (BI extents); on disk 3.
    Bi,
    /// The Schema Area or a user data area; on disk 6.
    Data,
    /// One AI extent; on disk 7.
    Ai,
}

impl AreaKind {
    /// The on-disk code.
    pub fn code(self) -> u8 {
        match self {
            AreaKind::Control => 1,
            AreaKind::Bi => 3,
            AreaKind::Data => 6,
            AreaKind::Ai => 7,
        }
    }

    /// The kind with on-disk code `code`, if any.
    pub fn from_code(code: u8) -> Option<AreaKind> {
        match code {
            1 => Some(AreaKind::Control),
            3 => Some(AreaKind::Bi),
            6 => Some(AreaKind::Data),
            7 => Some(AreaKind::Ai),
            _ => None,
        }
    }
}

/// One extent file of an area.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extent {
    /// 1-based number within its area.
    pub number: u32,
    /// Fixed (preallocated) or variable.
    pub fixed: bool,
    /// Fixed size, or for a variable extent its maximum (0: no maximum), in KiB.
    pub size_kib: u64,
    /// Absolute path of the file.
    pub path: PathBuf,
}

impl Extent {
    /// The extent's size as `.st` size information.
    pub fn size(&self) -> ExtentSize {
        ExtentSize::from_parts(self.fixed, self.size_kib)
    }
}

/// One storage area and its extents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Area {
    /// The area number.
    pub number: AreaNo,
    /// What the area holds.
    pub kind: AreaKind,
    /// The area name.
    pub name: String,
    /// Records per block (data and control areas; 0 for BI and AI).
    pub records_per_block: u32,
    /// Blocks per cluster (data and control areas; 0 for BI and AI).
    pub blocks_per_cluster: u32,
    /// The extents, numbered 1.. in order.
    pub extents: Vec<Extent>,
}

/// One AI extent with its place in the AI ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AiExtentRef {
    /// The AI extent number N (1-based; the N of `db.aN`).
    pub ai_number: u32,
    /// The AI area holding it.
    pub area: AreaNo,
    /// The extent.
    pub extent: Extent,
}

/// Every area and extent of a database, and where its control area was when written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalogue {
    /// Absolute path of the control area `D/name.db`.
    pub control_path: PathBuf,
    /// The areas, sorted by number.
    pub areas: Vec<Area>,
}

impl Catalogue {
    /// The area numbered `n`.
    pub fn area(&self, n: AreaNo) -> Option<&Area> {
        self.areas.iter().find(|a| a.number.0 == n.0)
    }

    /// The data areas (the Schema Area and user areas), by number.
    pub fn data_areas(&self) -> impl Iterator<Item = &Area> {
        self.areas.iter().filter(|a| a.kind == AreaKind::Data)
    }

    /// The Primary Recovery Area. Every valid catalogue has one.
    pub fn bi_area(&self) -> &Area {
        self.areas
            .iter()
            .find(|a| a.kind == AreaKind::Bi)
            .expect("a catalogue always has a Primary Recovery Area")
    }

    /// The AI extents ordered by AI extent number.
    pub fn ai_extents(&self) -> Vec<AiExtentRef> {
        self.areas
            .iter()
            .filter(|a| a.kind == AreaKind::Ai)
            .flat_map(|a| {
                a.extents.iter().map(|e| AiExtentRef {
                    ai_number: a.number.0 - num::FIRST_AI + 1,
                    area: AreaNo(a.number.0),
                    extent: e.clone(),
                })
            })
            .collect()
    }

    /// The database name (`name` of `D/name.db`), if the control path has that form.
    pub fn db_name(&self) -> Option<&str> {
        crate::names::db_name(&self.control_path)
    }

    /// The `.st` describing this catalogue: `b` lines, then `d` lines with full area
    /// information (area by area), then `a` lines; absolute paths and sizes. The control area
    /// is not listed (the `.st` grammar has no line for it). Lines are numbered 1.. as printed.
    pub fn to_st(&self) -> StFile {
        let mut lines = Vec::new();
        let mut push = |kind: LineKind, area: Option<&Area>, extent: &Extent| {
            lines.push(StLine {
                kind,
                area_name: area.map(|a| a.name.clone()),
                area_number: area.map(|a| a.number.0),
                records_per_block: area.map(|a| a.records_per_block),
                blocks_per_cluster: area.map(|a| a.blocks_per_cluster),
                path: extent.path.to_string_lossy().into_owned(),
                size: extent.size(),
                line: 0,
            });
        };
        for kind in [AreaKind::Bi, AreaKind::Data, AreaKind::Ai] {
            for area in self.areas.iter().filter(|a| a.kind == kind) {
                for extent in &area.extents {
                    match kind {
                        AreaKind::Bi => push(LineKind::Bi, None, extent),
                        AreaKind::Data => push(LineKind::Data, Some(area), extent),
                        _ => push(LineKind::Ai, None, extent),
                    }
                }
            }
        }
        for (i, line) in lines.iter_mut().enumerate() {
            line.line = i + 1;
        }
        StFile { lines }
    }

    /// `prostrct repair db dir/`: every extent, and the control area path, moves into `dir`
    /// keeping its file name. `dir` must be absolute (the caller resolves what the user typed).
    pub fn repair_to_dir(&mut self, dir: &Path) {
        assert!(
            dir.is_absolute(),
            "repair_to_dir needs an absolute directory, got {}",
            dir.display()
        );
        let dir = crate::names::normalise(dir);
        let moved = |path: &Path| match path.file_name() {
            Some(name) => dir.join(name),
            None => dir.clone(),
        };
        self.control_path = moved(&self.control_path);
        for area in &mut self.areas {
            for extent in &mut area.extents {
                extent.path = moved(&extent.path);
            }
        }
    }

    /// Index in `areas` of area `n`, or where it would be inserted.
    fn area_index(&self, n: u32) -> Result<usize, usize> {
        self.areas.binary_search_by_key(&n, |a| a.number.0)
    }
}
