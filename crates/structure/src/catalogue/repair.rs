//! `prostrct repair db file.st`: new extent paths from a `.st` that describes the same areas
//! and extents (same areas, same number of extents per area, same sizes). Lines are matched
//! to extents by area and order. Nothing changes unless the whole file matches.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::build::refuse_transaction_log;
use super::{AreaKind, Catalogue, num};
use crate::Error;
use crate::names::{self, generated_name};
use crate::st::{ExtentSize, LineKind, StFile, StLine};

/// `f 1024`, `v 2048` or `variable`, as in messages.
fn describe(size: ExtentSize) -> String {
    match size {
        ExtentSize::Variable => "variable".to_string(),
        ExtentSize::VariableMax { kib } => format!("v {kib}"),
        ExtentSize::Fixed { kib } => format!("f {kib}"),
    }
}

/// A [`Error::RepairMismatch`].
fn mismatch(detail: String) -> Error {
    Error::RepairMismatch { detail }
}

impl Catalogue {
    /// `prostrct repair db file.st`: every extent takes its path from the `.st` line matched
    /// to it by area and order (relative paths and directories resolve against the directory
    /// of `control_path`, which the caller sets first). Errors, changing nothing, if the file
    /// does not describe the same areas and extents with the same sizes.
    pub fn repair_from_st(&mut self, st: &StFile) -> Result<(), Error> {
        refuse_transaction_log(st)?;
        let Some(db_name) = self.db_name().map(str::to_string) else {
            return Err(Error::ControlPathInvalid {
                path: self.control_path.clone(),
            });
        };
        let base_dir = self
            .control_path
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);

        let mut by_area: BTreeMap<u32, Vec<&StLine>> = BTreeMap::new();
        let mut ai_lines = Vec::new();
        for line in &st.lines {
            match line.kind {
                LineKind::Bi => by_area
                    .entry(self.bi_area().number.0)
                    .or_default()
                    .push(line),
                LineKind::Data => by_area
                    .entry(self.repair_area(line)?)
                    .or_default()
                    .push(line),
                LineKind::Ai => ai_lines.push(line),
                LineKind::TransactionLog => unreachable!("t lines are refused above"),
            }
        }
        let ai_count = ai_lines.len();
        for (i, line) in ai_lines.into_iter().enumerate() {
            by_area
                .entry(num::FIRST_AI + i as u32)
                .or_default()
                .push(line);
        }

        let mut moves = Vec::new();
        let mut paths: HashSet<PathBuf> = HashSet::from([self.control_path.clone()]);
        for (area_index, area) in self.areas.iter().enumerate() {
            if area.kind == AreaKind::Control {
                continue;
            }
            let lines = by_area.remove(&area.number.0).unwrap_or_default();
            if lines.len() != area.extents.len() {
                return Err(mismatch(if area.kind == AreaKind::Ai {
                    format!(
                        "the database has {} AI extents, the file lists {ai_count}",
                        self.ai_extents().len()
                    )
                } else {
                    format!(
                        "area \"{}\" has {} extents, the file lists {}",
                        area.name,
                        area.extents.len(),
                        lines.len()
                    )
                }));
            }
            for (line, extent) in lines.into_iter().zip(&area.extents) {
                if line.size != extent.size() {
                    return Err(mismatch(format!(
                        "line {}: extent {} of area \"{}\" is {} in the database, the file gives {}",
                        line.line,
                        extent.number,
                        area.name,
                        describe(extent.size()),
                        describe(line.size)
                    )));
                }
                let name_number = match area.kind {
                    AreaKind::Ai => area.number.0 - num::FIRST_AI + 1,
                    _ => extent.number,
                };
                let generated = generated_name(&db_name, area.kind, area.number, name_number);
                let path = names::extent_path(&base_dir, &line.path, &generated);
                if !paths.insert(path.clone()) {
                    return Err(Error::DuplicatePath {
                        line: line.line,
                        path,
                    });
                }
                moves.push((area_index, extent.number, path));
            }
        }
        if !by_area.is_empty() {
            return Err(mismatch(format!(
                "the database has {} AI extents, the file lists {ai_count}",
                self.ai_extents().len()
            )));
        }
        for (area_index, extent_number, path) in moves {
            let extent = &mut self.areas[area_index].extents[extent_number as usize - 1];
            extent.path = path;
        }
        Ok(())
    }

    /// The number of the existing data area a `d` line names (by number, else by name; no
    /// area information: the Schema Area), checking name, records per block and cluster.
    fn repair_area(&self, line: &StLine) -> Result<u32, Error> {
        let Some(name) = &line.area_name else {
            return Ok(num::SCHEMA);
        };
        let area = match line.area_number {
            Some(n) => self.data_areas().find(|a| a.number.0 == n),
            None => self.data_areas().find(|a| &a.name == name),
        };
        let Some(area) = area else {
            return Err(mismatch(format!(
                "line {}: the database has no data area \"{name}\"{}",
                line.line,
                line.area_number
                    .map(|n| format!(" numbered {n}"))
                    .unwrap_or_default()
            )));
        };
        if &area.name != name {
            return Err(mismatch(format!(
                "line {}: area {} is \"{}\" in the database, not \"{name}\"",
                line.line, area.number.0, area.name
            )));
        }
        for (what, given, have) in [
            (
                "records per block",
                line.records_per_block,
                area.records_per_block,
            ),
            (
                "blocks per cluster",
                line.blocks_per_cluster,
                area.blocks_per_cluster,
            ),
        ] {
            if let Some(given) = given
                && given != have
            {
                return Err(mismatch(format!(
                    "line {}: area \"{name}\" has {have} {what} in the database, the file gives {given}",
                    line.line
                )));
            }
        }
        Ok(area.number.0)
    }
}
