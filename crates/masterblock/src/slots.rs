//! [`MasterBlockFile`]: the two-slot atomic update of the master block in `db.db`.
//!
//! Invariant: the slot holding the last acknowledged master block is never written; an update
//! writes the other slot with `generation + 1` and syncs before the new value is acknowledged,
//! so after a crash at any point the newest valid slot is the last acknowledged value or the
//! one being written.

use std::io;

use storage::FileRef;

use crate::error::Error;
use crate::record::{MB_RECORD_LEN, MasterBlock};

/// Byte offsets of master block slot 0 and slot 1 in `db.db`.
pub const MB_SLOT_OFFSETS: [u64; 2] = [0, 4096];
/// Bytes of `db.db` the two master block slots occupy (each slot is 4096 bytes).
pub const MB_REGION_BYTES: u64 = 8192;

/// The master block of an open control area.
pub struct MasterBlockFile {
    file: FileRef,
    current: MasterBlock,
    slot: usize,
}

impl std::fmt::Debug for MasterBlockFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterBlockFile")
            .field("current", &self.current)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

/// Checks that `mb` encodes to a record that validates, so nothing invalid is ever written.
fn encode_checked(mb: &MasterBlock) -> Result<[u8; MB_RECORD_LEN], Error> {
    let bytes = mb.encode();
    MasterBlock::decode(&bytes)?.validate()?;
    Ok(bytes)
}

/// Reads and validates the slot at `offset`. `Ok(Err(_))` is a slot that is not valid;
/// `Err(_)` is an I/O error other than the file ending before the slot does.
fn read_slot(file: &FileRef, offset: u64) -> Result<Result<MasterBlock, Error>, Error> {
    let mut buf = [0u8; MB_RECORD_LEN];
    match file.read_at(&mut buf, offset) {
        Ok(()) => Ok(MasterBlock::decode_at(&buf, offset).and_then(|p| p.validate())),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            let found = file
                .len()
                .map_err(Error::io("read master block"))?
                .saturating_sub(offset);
            Ok(Err(Error::Truncated {
                what: "master block",
                needed: MB_RECORD_LEN,
                found: usize::try_from(found).unwrap_or(usize::MAX),
            }))
        }
        Err(e) => Err(Error::io("read master block")(e)),
    }
}

impl MasterBlockFile {
    /// Writes `mb` as generation 1 into slot 0 of a new control area, zeros the rest of the
    /// 8192-byte region (so slot 1 is empty), and syncs. `file` is `db.db`, freshly created.
    pub fn create(file: FileRef, mb: MasterBlock) -> Result<Self, Error> {
        let mut current = mb;
        current.generation = 1;
        let record = encode_checked(&current)?;
        let mut region = vec![0u8; MB_REGION_BYTES as usize];
        region[..MB_RECORD_LEN].copy_from_slice(&record);
        file.write_at(&region, 0)
            .map_err(Error::io("write master block"))?;
        file.sync().map_err(Error::io("sync master block"))?;
        Ok(MasterBlockFile {
            file,
            current,
            slot: 0,
        })
    }

    /// Reads both slots and keeps the valid one with the higher generation (slot 0 if both
    /// have the same). Fails with [`Error::NoValidSlot`], naming each slot's problem, if
    /// neither is valid, and with [`Error::Io`] if a slot cannot be read.
    pub fn open(file: FileRef) -> Result<Self, Error> {
        let slot0 = read_slot(&file, MB_SLOT_OFFSETS[0])?;
        let slot1 = read_slot(&file, MB_SLOT_OFFSETS[1])?;
        let (current, slot) = match (slot0, slot1) {
            (Ok(a), Ok(b)) if b.generation > a.generation => (b, 1),
            (Ok(a), _) => (a, 0),
            (Err(_), Ok(b)) => (b, 1),
            (Err(a), Err(b)) => {
                return Err(Error::NoValidSlot {
                    slot0: a.to_string(),
                    slot1: b.to_string(),
                });
            }
        };
        Ok(MasterBlockFile {
            file,
            current,
            slot,
        })
    }

    /// The master block as last written and acknowledged.
    pub fn get(&self) -> &MasterBlock {
        &self.current
    }

    /// The slot (0 or 1) holding [`MasterBlockFile::get`].
    pub fn active_slot(&self) -> usize {
        self.slot
    }

    /// The control area file.
    pub fn file(&self) -> &FileRef {
        &self.file
    }

    /// Applies `f` to a copy of the master block, then writes the copy into the other slot with
    /// the next generation (whatever `f` did to `generation`) and syncs. On success the copy
    /// becomes current; on error (including a copy that would not validate, which is not
    /// written) the current value stays the old one, and a later update overwrites the same
    /// other slot, never the one holding the current value.
    pub fn update(&mut self, f: impl FnOnce(&mut MasterBlock)) -> Result<(), Error> {
        let mut next = self.current;
        f(&mut next);
        next.generation = self
            .current
            .generation
            .checked_add(1)
            .expect("master block generation overflow");
        let record = encode_checked(&next)?;
        let target = 1 - self.slot;
        let offset = MB_SLOT_OFFSETS[target];
        let mut prior = [0u8; MB_RECORD_LEN];
        self.file
            .read_at(&mut prior, offset)
            .map_err(Error::io("read master block"))?;
        let written = self
            .file
            .write_at(&record, offset)
            .map_err(Error::io("write master block"))
            .and_then(|()| self.file.sync().map_err(Error::io("sync master block")));
        if let Err(error) = written {
            // Best effort: put back what the other slot held, so that reading the file now
            // (before any crash) still finds the current value newest. The original error is
            // what the caller needs; a failure here changes nothing it must know.
            let _ = self.file.write_at(&prior, offset);
            return Err(error);
        }
        self.current = next;
        self.slot = target;
        Ok(())
    }
}
