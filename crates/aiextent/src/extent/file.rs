//! [`AiExtentFile`]: an open AI extent with its current header, updated two-slot atomically.
//!
//! Invariants: `header` is the newest valid slot on disk; every update writes the other slot
//! with `generation + 1` and syncs before `header` changes, so a crash at any point leaves the
//! old or the new header; only the transitions of [`AiState::can_become`] are ever written.

use std::path::{Path, PathBuf};

use masterblock::{ExtentHeader, ExtentKind, NoteSeq};
use storage::FileRef;

use super::header::{
    AI_HEADER_REGION_BYTES, AI_SLOT_LEN, AI_SLOT_OFFSETS, AiHeader, AiState, MIN_FIXED_SIZE_KIB,
};
use super::scan::{ExtentReader, ScanSummary};
use crate::Error;
use crate::note::{NoteHeader, encode_note};

/// What an extent records when it becomes busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusyStart {
    /// The sequence of this use (the frames' seed).
    pub ai_seq: masterblock::AiSeq,
    /// The database's open stamp now.
    pub open_stamp: masterblock::OpenStamp,
    /// Time of the `aimage begin` this use belongs to, µs.
    pub ai_begin_time: i64,
    /// Sequence of the extent's first note, the `AiSwitch` note.
    pub switch_note_seq: NoteSeq,
    /// Now, µs (recorded as `busy_time`).
    pub now_micros: i64,
}

/// An open AI extent file.
pub struct AiExtentFile {
    file: FileRef,
    path: PathBuf,
    header: AiHeader,
    /// Index in [`AI_SLOT_OFFSETS`] of the slot holding `header`.
    slot: usize,
}

impl std::fmt::Debug for AiExtentFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiExtentFile")
            .field("path", &self.path)
            .field("header", &self.header)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

impl AiExtentFile {
    /// Makes a new, empty AI extent in `file` (just created, empty): the header region with
    /// slot 0 Empty at generation 1, the file preallocated with zeros to `size_kib * 1024`
    /// bytes if fixed, then synced. `path` names the file in errors. Panics if `ext` is not an
    /// AI extent header or a fixed size is below [`MIN_FIXED_SIZE_KIB`].
    pub fn create(
        file: FileRef,
        path: impl Into<PathBuf>,
        ext: ExtentHeader,
    ) -> Result<Self, Error> {
        assert_eq!(
            ext.kind,
            ExtentKind::Ai,
            "an AI extent needs an AI extent header"
        );
        assert!(
            !ext.fixed || ext.size_kib >= MIN_FIXED_SIZE_KIB,
            "a fixed AI extent is at least {MIN_FIXED_SIZE_KIB} KiB"
        );
        let path = path.into();
        let mut header = AiHeader::empty(ext);
        header.generation = 1;
        let mut region = vec![0u8; AI_HEADER_REGION_BYTES as usize];
        region[..AI_SLOT_LEN].copy_from_slice(&header.encode());
        let len = if ext.fixed {
            ext.size_bytes()
        } else {
            AI_HEADER_REGION_BYTES
        };
        let io = |op: &'static str, offset: u64| {
            let path = path.clone();
            move |source| Error::Io {
                path,
                op,
                offset,
                source,
            }
        };
        file.set_len(len).map_err(io("set the length of", len))?;
        file.write_at(&region, 0)
            .map_err(io("write the header of", 0))?;
        file.sync().map_err(io("sync", 0))?;
        Ok(AiExtentFile {
            file,
            path,
            header,
            slot: 0,
        })
    }

    /// Opens an existing AI extent: reads both slots and keeps the valid one with the higher
    /// generation. Refuses a file with no valid slot, a slot that verifies but is invalid, a
    /// fixed extent whose file is not its size, and a full or locked extent whose notes would
    /// pass the end of the file.
    pub fn open(file: FileRef, path: impl Into<PathBuf>) -> Result<Self, Error> {
        let path = path.into();
        let len = file.len().map_err(|source| Error::Io {
            path: path.clone(),
            op: "get the length of",
            offset: 0,
            source,
        })?;
        let mut region = vec![0u8; AI_HEADER_REGION_BYTES.min(len) as usize];
        file.read_at(&mut region, 0).map_err(|source| Error::Io {
            path: path.clone(),
            op: "read the header of",
            offset: 0,
            source,
        })?;
        region.resize(AI_HEADER_REGION_BYTES as usize, 0);
        let mut best: Option<(usize, AiHeader)> = None;
        for (slot, &offset) in AI_SLOT_OFFSETS.iter().enumerate() {
            let at = offset as usize;
            let bytes: &[u8; AI_SLOT_LEN] = region[at..at + AI_SLOT_LEN]
                .try_into()
                .expect("slot length");
            let parsed = AiHeader::decode(bytes);
            if !parsed.checksum_ok() {
                continue;
            }
            let header = parsed.validate(&path, slot as u8)?;
            if best
                .as_ref()
                .is_none_or(|(_, b)| header.generation > b.generation)
            {
                best = Some((slot, header));
            }
        }
        let Some((slot, header)) = best else {
            return Err(Error::NoValidHeader { path });
        };
        if let Some(size) = header.fixed_size_bytes()
            && size != len
        {
            return Err(Error::FixedSizeMismatch {
                path,
                expected_bytes: size,
                actual_bytes: len,
            });
        }
        if matches!(header.state, AiState::Full | AiState::Locked)
            && AI_HEADER_REGION_BYTES.saturating_add(header.used_bytes) > len
        {
            return Err(Error::UsedBeyondFile {
                path,
                used_bytes: header.used_bytes,
                file_len_bytes: len,
            });
        }
        Ok(AiExtentFile {
            file,
            path,
            header,
            slot,
        })
    }

    /// The current header.
    pub fn header(&self) -> &AiHeader {
        &self.header
    }

    /// The file's path, as given (used in errors).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file.
    pub fn file(&self) -> &FileRef {
        &self.file
    }

    /// Writes `new` (its `generation` is ignored and set to the current one plus one) into the
    /// slot not holding the current header, then syncs. On error the current header is
    /// unchanged in memory and on disk one of the two is valid.
    ///
    /// Panics (a caller bug: check the state first) if the state change is not allowed by
    /// [`AiState::can_become`] or the new header is inconsistent.
    pub fn set_header(&mut self, new: AiHeader) -> Result<(), Error> {
        let from = self.header.state;
        assert!(
            from.can_become(new.state),
            "illegal AI extent transition {from} -> {}",
            new.state
        );
        let mut new = new;
        new.generation = self.header.generation + 1;
        if let Some(problem) = new.inconsistency() {
            panic!("inconsistent AI extent header: {problem}");
        }
        let slot = 1 - self.slot;
        let offset = AI_SLOT_OFFSETS[slot];
        self.file
            .write_at(&new.encode(), offset)
            .map_err(|source| self.io("write the header of", offset, source))?;
        self.file
            .sync()
            .map_err(|source| self.io("sync", offset, source))?;
        self.header = new;
        self.slot = slot;
        Ok(())
    }

    /// Empty -> Busy: writes the `AiSwitch` note at byte 4096 and syncs it, then the Busy
    /// header. Returns the offset just after the switch note. Panics unless Empty.
    pub fn begin_busy(&mut self, start: &BusyStart) -> Result<u64, Error> {
        assert_eq!(
            self.header.state,
            AiState::Empty,
            "only an empty extent becomes busy"
        );
        assert_ne!(start.ai_seq.0, 0, "AI sequences start at 1");
        let mut frame = Vec::new();
        encode_note(
            &mut frame,
            start.ai_seq.0,
            &NoteHeader::ai_switch(start.switch_note_seq, start.ai_seq),
            &[],
        );
        let at = AI_HEADER_REGION_BYTES;
        self.file
            .write_at(&frame, at)
            .map_err(|source| self.io("write the switch note of", at, source))?;
        self.file
            .sync()
            .map_err(|source| self.io("sync", at, source))?;
        self.set_header(AiHeader {
            state: AiState::Busy,
            ai_seq: start.ai_seq,
            open_stamp: start.open_stamp,
            ai_begin_time: start.ai_begin_time,
            busy_time: start.now_micros,
            full_time: 0,
            used_bytes: 0,
            ..self.header
        })?;
        Ok(at + frame.len() as u64)
    }

    /// Busy or Locked -> `to` (Full or Locked) with exact `used_bytes`: the caller has synced
    /// the notes. Panics on an illegal transition.
    pub fn close_as(&mut self, to: AiState, used_bytes: u64, now_micros: i64) -> Result<(), Error> {
        assert!(
            matches!(to, AiState::Full | AiState::Locked),
            "closes as Full or Locked"
        );
        let full_time = if self.header.state == AiState::Busy {
            now_micros
        } else {
            self.header.full_time
        };
        self.set_header(AiHeader {
            state: to,
            used_bytes,
            full_time,
            ..self.header
        })
    }

    /// Any state -> Empty (`aimage empty`, `aimage end`): the Empty header, then for a variable
    /// extent the file truncated to the header region and synced.
    pub fn make_empty(&mut self) -> Result<(), Error> {
        self.set_header(AiHeader::empty(self.header.ext))?;
        if !self.header.ext.fixed {
            let len = AI_HEADER_REGION_BYTES;
            self.file
                .set_len(len)
                .map_err(|source| self.io("truncate", len, source))?;
            self.file
                .sync()
                .map_err(|source| self.io("sync", len, source))?;
        }
        Ok(())
    }

    /// A reader of this extent's notes under the rules of its state (see [`ExtentReader`]).
    pub fn read_notes(&self) -> Result<ExtentReader, Error> {
        ExtentReader::new(self.file.clone(), &self.path, &self.header)
    }

    /// Reads every note and sums them up (see [`super::scan_extent`]).
    pub fn scan(&self) -> Result<ScanSummary, Error> {
        super::scan_extent(&self.file, &self.path, &self.header)
    }

    fn io(&self, op: &'static str, offset: u64, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            op,
            offset,
            source,
        }
    }
}
