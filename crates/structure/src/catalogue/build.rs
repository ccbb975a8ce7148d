//! Building a catalogue from `.st` lines (`prostrct create` and `prostrct add`). All lines are
//! checked and applied to a copy first, so a refused file leaves the catalogue unchanged.
//! Rules: area numbers all-or-none for new user areas (else 7.. in order of first
//! appearance), only the last extent of a data or BI area may be variable, sizes hold whole
//! 16-block units and exceed 32 KiB, every extent path is absolute and unique.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use masterblock::AreaNo;

use super::{
    AI_AREA_PREFIX, Area, AreaKind, BI_AREA_NAME, CONTROL_AREA_NAME, Catalogue, Extent,
    SCHEMA_AREA_NAME, num,
};
use crate::Error;
use crate::names::{self, generated_name};
use crate::st::{ExtentSize, LineKind, StFile, StLine};

/// Records per block when a line gives none: 32 for 1, 2 and 4 KiB blocks, 64 for 8 KiB.
pub fn default_records_per_block(block_size: u32) -> u32 {
    if block_size >= 8192 { 64 } else { 32 }
}

/// True if `n` is a valid records-per-block value (1, 2, 4, ..., 256).
pub fn valid_records_per_block(n: u32) -> bool {
    n.is_power_of_two() && n <= 256
}

/// True if `n` is a valid blocks-per-cluster value (1, 8, 64, 512).
pub fn valid_blocks_per_cluster(n: u32) -> bool {
    matches!(n, 1 | 8 | 64 | 512)
}

/// Refuses block sizes other than 1, 2, 4 and 8 KiB.
fn check_block_size(block_size: u32) -> Result<(), Error> {
    if masterblock::valid_block_size(block_size) {
        Ok(())
    } else {
        Err(Error::InvalidBlockSize { block_size })
    }
}

/// Refuses `t` lines.
pub(super) fn refuse_transaction_log(st: &StFile) -> Result<(), Error> {
    match st.lines.iter().find(|l| l.kind == LineKind::TransactionLog) {
        Some(l) => Err(Error::TransactionLogUnsupported { line: l.line }),
        None => Ok(()),
    }
}

/// True if a `d` line belongs to the Schema Area.
fn is_schema_line(line: &StLine) -> bool {
    match &line.area_name {
        None => true,
        Some(name) => name == SCHEMA_AREA_NAME || line.area_number == Some(num::SCHEMA),
    }
}

/// True if `name` is reserved for the control, BI or AI areas.
fn is_reserved_name(name: &str) -> bool {
    name == CONTROL_AREA_NAME || name == BI_AREA_NAME || name.starts_with(AI_AREA_PREFIX)
}

impl Catalogue {
    /// Builds the catalogue for `prostrct create`: `db_path` is the absolute path of the
    /// control area file `D/name.db`; relative `.st` paths resolve against `D`.
    pub fn from_st(db_path: &Path, st: &StFile, block_size: u32) -> Result<Catalogue, Error> {
        let control_path = names::normalise(db_path);
        if !db_path.is_absolute() || names::db_name(&control_path).is_none() {
            return Err(Error::ControlPathInvalid {
                path: db_path.to_path_buf(),
            });
        }
        check_block_size(block_size)?;
        refuse_transaction_log(st)?;
        if !st.lines.iter().any(|l| l.kind == LineKind::Bi) {
            return Err(Error::MissingBiLine);
        }
        if !st
            .lines
            .iter()
            .any(|l| l.kind == LineKind::Data && is_schema_line(l))
        {
            return Err(Error::MissingSchemaLine);
        }
        let mut catalogue = Catalogue {
            areas: vec![Area {
                number: AreaNo(num::CONTROL),
                kind: AreaKind::Control,
                name: CONTROL_AREA_NAME.to_string(),
                records_per_block: default_records_per_block(block_size),
                blocks_per_cluster: 1,
                extents: vec![Extent {
                    number: 1,
                    fixed: false,
                    size_kib: 0,
                    path: control_path.clone(),
                }],
            }],
            control_path,
        };
        catalogue.apply(st, block_size)?;
        Ok(catalogue)
    }

    /// `prostrct add`: appends the extents and areas the file lists (new areas, new extents of
    /// existing areas, AI extents); returns which (area, extent number) were added, in order.
    /// On error the catalogue is unchanged.
    pub fn add_from_st(
        &mut self,
        st: &StFile,
        block_size: u32,
    ) -> Result<Vec<(AreaNo, u32)>, Error> {
        check_block_size(block_size)?;
        refuse_transaction_log(st)?;
        let mut next = self.clone();
        let added = next.apply(st, block_size)?;
        *self = next;
        Ok(added)
    }

    /// Checks every line and appends its extent; see the module rules.
    fn apply(&mut self, st: &StFile, block_size: u32) -> Result<Vec<(AreaNo, u32)>, Error> {
        for line in &st.lines {
            check_line(line, block_size)?;
        }
        let plan = self.plan_data_areas(st, block_size)?;
        let Some(db_name) = self.db_name().map(str::to_string) else {
            return Err(Error::ControlPathInvalid {
                path: self.control_path.clone(),
            });
        };
        let base_dir = self
            .control_path
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        let mut paths: HashSet<PathBuf> = self
            .areas
            .iter()
            .flat_map(|a| a.extents.iter().map(|e| e.path.clone()))
            .collect();
        paths.insert(self.control_path.clone());
        let mut variable_in_file: HashMap<u32, usize> = HashMap::new();
        let mut added = Vec::new();

        for (index, line) in st.lines.iter().enumerate() {
            let (area_number, name_number) = match line.kind {
                LineKind::Bi => {
                    self.ensure_area(num::BI, AreaKind::Bi, BI_AREA_NAME, 0, 0);
                    (num::BI, None)
                }
                LineKind::Data => {
                    let area = &plan[&index];
                    self.ensure_area(
                        area.number,
                        AreaKind::Data,
                        &area.name,
                        area.records_per_block,
                        area.blocks_per_cluster,
                    );
                    (area.number, None)
                }
                LineKind::Ai => {
                    let ai_number = self.ai_extents().len() as u32 + 1;
                    let number = num::FIRST_AI
                        .checked_add(ai_number - 1)
                        .expect("AI extent count fits an area number");
                    let name = format!("{AI_AREA_PREFIX}{ai_number}");
                    self.ensure_area(number, AreaKind::Ai, &name, 0, 0);
                    (number, Some(ai_number))
                }
                LineKind::TransactionLog => unreachable!("t lines are refused before apply"),
            };
            let index = self
                .area_index(area_number)
                .expect("the area was just ensured");
            let area = &mut self.areas[index];
            if let Some(last) = area.extents.last()
                && !last.fixed
            {
                return Err(match variable_in_file.get(&area_number) {
                    Some(&variable_line) => Error::VariableNotLast {
                        line: variable_line,
                        area: area.name.clone(),
                    },
                    None => Error::AddAfterVariable {
                        line: line.line,
                        area: area.name.clone(),
                        path: last.path.clone(),
                    },
                });
            }
            let extent_number = area.extents.len() as u32 + 1;
            let generated = generated_name(
                &db_name,
                area.kind,
                area.number,
                name_number.unwrap_or(extent_number),
            );
            let path = names::extent_path(&base_dir, &line.path, &generated);
            if !paths.insert(path.clone()) {
                return Err(Error::DuplicatePath {
                    line: line.line,
                    path,
                });
            }
            let (fixed, size_kib) = line.size.to_parts();
            if !fixed {
                variable_in_file.insert(area_number, line.line);
            }
            area.extents.push(Extent {
                number: extent_number,
                fixed,
                size_kib,
                path,
            });
            added.push((AreaNo(area_number), extent_number));
        }
        Ok(added)
    }

    /// Inserts an empty area numbered `number` (in order) unless it exists.
    fn ensure_area(&mut self, number: u32, kind: AreaKind, name: &str, rpb: u32, bpc: u32) {
        if let Err(at) = self.area_index(number) {
            self.areas.insert(
                at,
                Area {
                    number: AreaNo(number),
                    kind,
                    name: name.to_string(),
                    records_per_block: rpb,
                    blocks_per_cluster: bpc,
                    extents: Vec::new(),
                },
            );
        }
    }

    /// The data area each `d` line goes to (keyed by line index): existing areas matched by
    /// name or number, new areas numbered as given or from the next free number.
    fn plan_data_areas(
        &self,
        st: &StFile,
        block_size: u32,
    ) -> Result<HashMap<usize, PlannedArea>, Error> {
        let mut new_areas: Vec<NewArea> = Vec::new();
        let mut line_area: Vec<(usize, AreaRef)> = Vec::new();
        for (index, line) in st.lines.iter().enumerate() {
            if line.kind != LineKind::Data {
                continue;
            }
            let (name, number) = self.data_line_identity(line)?;
            if let Some(area) = self.data_areas().find(|a| a.name == name) {
                check_attributes(
                    line,
                    &area.name,
                    area.records_per_block,
                    area.blocks_per_cluster,
                )?;
                line_area.push((index, AreaRef::Existing(area.number.0)));
                continue;
            }
            if let Some(n) = number
                && let Some(area) = self.data_areas().find(|a| a.number.0 == n)
            {
                return Err(Error::AreaNumberConflict {
                    line: line.line,
                    number: n,
                    name,
                    existing: area.name.clone(),
                });
            }
            let slot = match new_areas.iter().position(|a| a.name == name) {
                Some(slot) => {
                    let area = &mut new_areas[slot];
                    match (area.number, number) {
                        (Some(existing), Some(n)) if existing != n => {
                            return Err(Error::AreaNameConflict {
                                line: line.line,
                                name,
                                number: n,
                                existing,
                            });
                        }
                        (None, Some(n)) => area.number = Some(n),
                        _ => {}
                    }
                    merge_attribute(line, area, Attribute::RecordsPerBlock)?;
                    merge_attribute(line, area, Attribute::BlocksPerCluster)?;
                    slot
                }
                None => {
                    new_areas.push(NewArea {
                        name,
                        number,
                        first_line: line.line,
                        records_per_block: line.records_per_block,
                        blocks_per_cluster: line.blocks_per_cluster,
                    });
                    new_areas.len() - 1
                }
            };
            line_area.push((index, AreaRef::New(slot)));
        }

        self.number_new_areas(&mut new_areas)?;

        let mut plan = HashMap::new();
        for (index, area_ref) in line_area {
            let planned = match area_ref {
                AreaRef::Existing(n) => {
                    let area = self
                        .data_areas()
                        .find(|a| a.number.0 == n)
                        .expect("existing");
                    PlannedArea {
                        number: n,
                        name: area.name.clone(),
                        records_per_block: area.records_per_block,
                        blocks_per_cluster: area.blocks_per_cluster,
                    }
                }
                AreaRef::New(slot) => {
                    let area = &new_areas[slot];
                    PlannedArea {
                        number: area.number.expect("every new area is numbered"),
                        name: area.name.clone(),
                        records_per_block: area
                            .records_per_block
                            .unwrap_or_else(|| default_records_per_block(block_size)),
                        blocks_per_cluster: area.blocks_per_cluster.unwrap_or(1),
                    }
                }
            };
            plan.insert(index, planned);
        }
        Ok(plan)
    }

    /// The (name, number) a `d` line gives its area, after the Schema Area and name rules.
    fn data_line_identity(&self, line: &StLine) -> Result<(String, Option<u32>), Error> {
        let Some(name) = &line.area_name else {
            return Ok((SCHEMA_AREA_NAME.to_string(), Some(num::SCHEMA)));
        };
        let number = line.area_number;
        if name == SCHEMA_AREA_NAME {
            return match number {
                None | Some(num::SCHEMA) => Ok((name.clone(), Some(num::SCHEMA))),
                Some(n) => Err(Error::AreaNameConflict {
                    line: line.line,
                    name: name.clone(),
                    number: n,
                    existing: num::SCHEMA,
                }),
            };
        }
        if number == Some(num::SCHEMA) {
            return Err(Error::AreaNumberConflict {
                line: line.line,
                number: num::SCHEMA,
                name: name.clone(),
                existing: SCHEMA_AREA_NAME.to_string(),
            });
        }
        if is_reserved_name(name) {
            return Err(Error::ReservedAreaName {
                line: line.line,
                name: name.clone(),
            });
        }
        if let Some(n) = number
            && !(num::FIRST_USER..=num::LAST_USER).contains(&n)
        {
            return Err(Error::AreaNumberOutOfRange {
                line: line.line,
                number: n,
            });
        }
        if let Some(area) = self.data_areas().find(|a| &a.name == name)
            && let Some(n) = number
            && n != area.number.0
        {
            return Err(Error::AreaNameConflict {
                line: line.line,
                name: name.clone(),
                number: n,
                existing: area.number.0,
            });
        }
        Ok((name.clone(), number))
    }

    /// Gives every new user area a number: all were numbered in the file, or none were and
    /// they get the next free numbers in order of first appearance.
    fn number_new_areas(&self, new_areas: &mut [NewArea]) -> Result<(), Error> {
        let user = |a: &NewArea| a.name != SCHEMA_AREA_NAME;
        let any_numbered = new_areas
            .iter()
            .filter(|a| user(a))
            .any(|a| a.number.is_some());
        if any_numbered {
            if let Some(area) = new_areas.iter().find(|a| user(a) && a.number.is_none()) {
                return Err(Error::AreaNumbersIncomplete {
                    line: area.first_line,
                    name: area.name.clone(),
                });
            }
            for (i, area) in new_areas.iter().enumerate() {
                if let Some(other) = new_areas[..i].iter().find(|o| o.number == area.number) {
                    return Err(Error::AreaNumberConflict {
                        line: area.first_line,
                        number: area.number.expect("numbered"),
                        name: area.name.clone(),
                        existing: other.name.clone(),
                    });
                }
            }
            return Ok(());
        }
        let first_free = self
            .data_areas()
            .map(|a| a.number.0)
            .max()
            .unwrap_or(num::SCHEMA)
            .max(num::SCHEMA)
            + 1;
        for (next, area) in (first_free..).zip(new_areas.iter_mut().filter(|a| user(a))) {
            if next > num::LAST_USER {
                return Err(Error::AreaNumberOutOfRange {
                    line: area.first_line,
                    number: next,
                });
            }
            area.number = Some(next);
        }
        Ok(())
    }
}

/// Syntax-independent checks of one line: area information fits the line type, records per
/// block and blocks per cluster are in their sets, sizes hold whole 16-block units.
fn check_line(line: &StLine, block_size: u32) -> Result<(), Error> {
    if let Some(name) = &line.area_name {
        let refused = match line.kind {
            LineKind::Bi => (name != BI_AREA_NAME
                || line.area_number.is_some_and(|n| n != num::BI)
                || line.records_per_block.is_some()
                || line.blocks_per_cluster.is_some())
            .then_some("only \"Primary Recovery Area\" or \"Primary Recovery Area\":3"),
            LineKind::Ai => (!name.starts_with(AI_AREA_PREFIX))
                .then_some("AI lines normally have none; AI areas are numbered automatically"),
            _ => None,
        };
        if let Some(hint) = refused {
            return Err(Error::AreaInfoNotAllowed {
                line: line.line,
                kind: line.kind.letter(),
                name: name.clone(),
                hint,
            });
        }
    }
    if line.kind == LineKind::Data {
        if let Some(value) = line.records_per_block
            && !valid_records_per_block(value)
        {
            return Err(Error::RecordsPerBlock {
                line: line.line,
                value,
            });
        }
        if let Some(value) = line.blocks_per_cluster
            && !valid_blocks_per_cluster(value)
        {
            return Err(Error::BlocksPerCluster {
                line: line.line,
                value,
            });
        }
    }
    let multiple_kib = 16 * u64::from(block_size) / 1024;
    if let ExtentSize::Fixed { kib } | ExtentSize::VariableMax { kib } = line.size
        && (kib <= 32 || kib % multiple_kib != 0)
    {
        return Err(Error::BadExtentSize {
            line: line.line,
            size_kib: kib,
            multiple_kib,
        });
    }
    Ok(())
}

/// Records per block or blocks per cluster.
#[derive(Clone, Copy)]
enum Attribute {
    RecordsPerBlock,
    BlocksPerCluster,
}

impl Attribute {
    /// The value on `line`.
    fn on_line(self, line: &StLine) -> Option<u32> {
        match self {
            Attribute::RecordsPerBlock => line.records_per_block,
            Attribute::BlocksPerCluster => line.blocks_per_cluster,
        }
    }

    /// How messages name it.
    fn what(self) -> &'static str {
        match self {
            Attribute::RecordsPerBlock => "records per block",
            Attribute::BlocksPerCluster => "blocks per cluster",
        }
    }
}

/// Checks that `line` gives no records per block or blocks per cluster other than an
/// existing area's.
fn check_attributes(line: &StLine, area: &str, rpb: u32, bpc: u32) -> Result<(), Error> {
    for (attribute, existing) in [
        (Attribute::RecordsPerBlock, rpb),
        (Attribute::BlocksPerCluster, bpc),
    ] {
        if let Some(given) = attribute.on_line(line)
            && given != existing
        {
            return Err(Error::AreaAttributesConflict {
                line: line.line,
                area: area.to_string(),
                what: attribute.what(),
                existing,
                given,
            });
        }
    }
    Ok(())
}

/// Takes a later line's explicit value for a new area: the first explicit value wins and
/// any other explicit value conflicts.
fn merge_attribute(line: &StLine, area: &mut NewArea, attribute: Attribute) -> Result<(), Error> {
    let Some(given) = attribute.on_line(line) else {
        return Ok(());
    };
    let slot = match attribute {
        Attribute::RecordsPerBlock => &mut area.records_per_block,
        Attribute::BlocksPerCluster => &mut area.blocks_per_cluster,
    };
    match *slot {
        Some(existing) if existing != given => Err(Error::AreaAttributesConflict {
            line: line.line,
            area: area.name.clone(),
            what: attribute.what(),
            existing,
            given,
        }),
        _ => {
            *slot = Some(given);
            Ok(())
        }
    }
}

/// A data area that a file introduces.
struct NewArea {
    name: String,
    number: Option<u32>,
    first_line: usize,
    records_per_block: Option<u32>,
    blocks_per_cluster: Option<u32>,
}

/// Which area a `d` line goes to, before new areas are numbered.
enum AreaRef {
    Existing(u32),
    New(usize),
}

/// The resolved target area of a `d` line.
struct PlannedArea {
    number: u32,
    name: String,
    records_per_block: u32,
    blocks_per_cluster: u32,
}
