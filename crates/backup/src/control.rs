//! The control area of a database as a backup or restore uses it: its master block, its
//! catalogue, and the one catalogue write a restore makes when the identity changes.
//!
//! Invariants: a control area is used only if its catalogue records the control area's real
//! path (a copied database is refused, as the engine does); the catalogue written for a new
//! identity goes to the slot not holding the current one, so the old identity keeps its slot.

use engine::DbPath;
use masterblock::{DbId, MasterBlockFile};
use storage::{FileRef, OpenMode, Storage};
use structure::{CATALOGUE_SLOT_BYTES, CATALOGUE_SLOT_OFFSETS, Catalogue, CatalogueFile};

use crate::error::{Error, Result};

/// A database's open control area.
pub struct Control {
    /// The control area file.
    pub file: FileRef,
    /// Its master block.
    pub master: MasterBlockFile,
    /// Its catalogue.
    pub catalogue: Catalogue,
    /// The catalogue's generation.
    pub catalogue_generation: u64,
}

/// Opens the control area of `db` and checks that it was not copied or moved.
pub fn open_control(storage: &dyn Storage, db: &DbPath, writable: bool) -> Result<Control> {
    let ctl = db.control_path();
    if !storage.exists(&ctl) {
        return Err(engine::Error::NoDatabase { path: ctl }.into());
    }
    let mode = if writable {
        OpenMode::ReadWrite
    } else {
        OpenMode::Read
    };
    let file = storage.open(&ctl, mode).map_err(Error::io("open", &ctl))?;
    let master = MasterBlockFile::open(file.clone())?;
    let catf = CatalogueFile::open(file.clone(), master.get().db_id)?;
    let actual = storage
        .canonicalize(&ctl)
        .map_err(Error::io("resolve", &ctl))?;
    if catf.get().control_path != actual {
        return Err(engine::Error::CopiedDatabase {
            recorded: catf.get().control_path.clone(),
            actual,
        }
        .into());
    }
    Ok(Control {
        file,
        catalogue: catf.get().clone(),
        catalogue_generation: catf.generation(),
        master,
    })
}

impl Control {
    /// Writes the current catalogue for identity `db_id` into the slot not holding the current
    /// catalogue, with the next generation, and syncs. The current slot (for the current
    /// identity) is left as it is.
    pub fn write_catalogue_for(&self, db_id: DbId, path: &std::path::Path) -> Result<()> {
        let current = self.master.get().db_id;
        let mut current_slot = None;
        for (slot, &offset) in CATALOGUE_SLOT_OFFSETS.iter().enumerate() {
            let mut bytes = vec![0u8; CATALOGUE_SLOT_BYTES as usize];
            let len = self.file.len().map_err(Error::io("inspect", path))?;
            let have = len.saturating_sub(offset).min(CATALOGUE_SLOT_BYTES) as usize;
            if have > 0 {
                self.file
                    .read_at(&mut bytes[..have], offset)
                    .map_err(Error::io("read", path))?;
            }
            let valid = Catalogue::decode(&bytes).and_then(|p| p.validate());
            if let Ok((_, id, generation)) = valid
                && id == current
                && generation == self.catalogue_generation
            {
                current_slot = Some(slot);
            }
        }
        let current_slot = current_slot.expect("the catalogue just read is in one of its slots");
        let target = 1 - current_slot;
        let mut bytes = self
            .catalogue
            .encode(db_id, self.catalogue_generation + 1)?;
        bytes.resize(CATALOGUE_SLOT_BYTES as usize, 0);
        let offset = CATALOGUE_SLOT_OFFSETS[target];
        self.file
            .write_at(&bytes, offset)
            .map_err(Error::io("write the catalogue of", path))?;
        self.file
            .sync()
            .map_err(Error::io("sync the catalogue of", path))
    }
}
