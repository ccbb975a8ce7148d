//! The catalogue's home in the control area: two 64 KiB slots at bytes 8192 and 73,728. The
//! valid slot (for this database) with the higher generation is current; an update writes the
//! other slot with generation + 1, zero-padded to the whole slot, and syncs. A crash at any
//! point leaves the old or the new catalogue readable, never neither.

use masterblock::DbId;
use storage::FileRef;

use crate::{CATALOGUE_SLOT_BYTES, CATALOGUE_SLOT_OFFSETS, Catalogue, Error};

/// The open catalogue of a control area file.
pub struct CatalogueFile {
    /// The control area file.
    file: FileRef,
    /// The database the catalogue must belong to.
    db_id: DbId,
    /// The current catalogue.
    catalogue: Catalogue,
    /// Its generation.
    generation: u64,
    /// The slot (0 or 1) holding it.
    slot: usize,
}

impl std::fmt::Debug for CatalogueFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogueFile")
            .field("db_id", &self.db_id)
            .field("generation", &self.generation)
            .field("slot", &self.slot)
            .field("catalogue", &self.catalogue)
            .finish()
    }
}

/// `cat` encoded for `db_id` at `generation`, padded to a whole slot, after checking that it
/// decodes and validates (an invalid catalogue is never written).
fn slot_bytes(cat: &Catalogue, db_id: DbId, generation: u64) -> Result<Vec<u8>, Error> {
    let mut bytes = cat.encode(db_id, generation)?;
    Catalogue::decode(&bytes)?.validate()?;
    bytes.resize(CATALOGUE_SLOT_BYTES as usize, 0);
    Ok(bytes)
}

/// Maps an I/O error of `op` at `offset`.
fn io(op: &'static str, offset: u64) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { op, offset, source }
}

/// Reads slot `slot` (as much of it as the file holds) and decodes and validates it.
fn read_slot(
    file: &FileRef,
    slot: usize,
    db_id: DbId,
) -> Result<Result<(Catalogue, u64), Error>, Error> {
    let offset = CATALOGUE_SLOT_OFFSETS[slot];
    let len = file.len().map_err(io("read", offset))?;
    let available = len.saturating_sub(offset).min(CATALOGUE_SLOT_BYTES);
    let mut bytes = vec![0u8; available as usize];
    if !bytes.is_empty() {
        file.read_at(&mut bytes, offset)
            .map_err(io("read", offset))?;
    }
    Ok(Catalogue::decode(&bytes)
        .and_then(|parsed| parsed.validate())
        .and_then(|(cat, found, generation)| {
            if found == db_id {
                Ok((cat, generation))
            } else {
                Err(Error::wrong_database(db_id, found))
            }
        }))
}

impl CatalogueFile {
    /// Writes `cat` as generation 1 into slot 0, zeroes slot 1, and syncs the file.
    pub fn create(file: FileRef, db_id: DbId, cat: &Catalogue) -> Result<Self, Error> {
        let bytes = slot_bytes(cat, db_id, 1)?;
        let [first, second] = CATALOGUE_SLOT_OFFSETS;
        file.write_at(&bytes, first).map_err(io("write", first))?;
        file.write_at(&vec![0u8; CATALOGUE_SLOT_BYTES as usize], second)
            .map_err(io("write", second))?;
        file.sync().map_err(io("sync", first))?;
        Ok(CatalogueFile {
            file,
            db_id,
            catalogue: cat.clone(),
            generation: 1,
            slot: 0,
        })
    }

    /// Reads the newest valid slot whose database id is `db_id`. If neither slot qualifies,
    /// [`Error::NoValidCatalogue`] says why for each.
    pub fn open(file: FileRef, db_id: DbId) -> Result<Self, Error> {
        let first = read_slot(&file, 0, db_id)?;
        let second = read_slot(&file, 1, db_id)?;
        let (catalogue, generation, slot) = match (first, second) {
            (Ok((c0, g0)), Ok((c1, g1))) => {
                if g1 > g0 {
                    (c1, g1, 1)
                } else {
                    (c0, g0, 0)
                }
            }
            (Ok((c, g)), Err(_)) => (c, g, 0),
            (Err(_), Ok((c, g))) => (c, g, 1),
            (Err(slot0), Err(slot1)) => {
                return Err(Error::NoValidCatalogue {
                    slot0: Box::new(slot0),
                    slot1: Box::new(slot1),
                });
            }
        };
        Ok(CatalogueFile {
            file,
            db_id,
            catalogue,
            generation,
            slot,
        })
    }

    /// The current catalogue.
    pub fn get(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The current generation (1 after `create`, +1 per `replace`).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Makes `cat` the catalogue: writes it to the slot not holding the current one with the
    /// next generation and syncs. On error the current catalogue is unchanged (on disk a later
    /// open finds the old or, if the write reached the disk, the new one).
    pub fn replace(&mut self, cat: Catalogue) -> Result<(), Error> {
        let generation = self.generation + 1;
        let slot = 1 - self.slot;
        let offset = CATALOGUE_SLOT_OFFSETS[slot];
        let bytes = slot_bytes(&cat, self.db_id, generation)?;
        self.file
            .write_at(&bytes, offset)
            .map_err(io("write", offset))?;
        self.file.sync().map_err(io("sync", offset))?;
        self.catalogue = cat;
        self.generation = generation;
        self.slot = slot;
        Ok(())
    }
}
