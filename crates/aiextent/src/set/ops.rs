//! The operations that change the extent set: `aimage begin`, the switch, `aimage end` and
//! `aimage extent empty`, each in the durable order of ai-extent.md's "Switch protocol".
//!
//! Invariant: every check that can refuse an operation runs before its first write, so a
//! refused operation changes nothing; the writes then follow the documented order, whose
//! commit point decides which way [`ExtentSet::reconcile`] goes after a crash.

use masterblock::{AiSeq, MasterBlockFile, NoteSeq};

use super::{ExtentSet, io_error};
use crate::Error;
use crate::extent::{AiExtentFile, AiHeader, AiState, AiWriter, BusyStart, ExtentReader};

fn mb_error(source: masterblock::Error) -> Error {
    Error::MasterBlock { source }
}

impl ExtentSet {
    /// `rfutil aimage begin`: the first extent (lowest number) becomes Busy with sequence 1,
    /// its `AiSwitch` note carrying `first_note_seq`, and the master block turns after-imaging
    /// on (`ai_busy_extent` that extent, `ai_seq_current` and `ai_seq_expected` 1,
    /// `ai_begin_time` now). The writer is then [`ExtentSet::writer_mut`].
    ///
    /// Refused, changing nothing: no AI extents ([`Error::NoAiExtents`]), after-imaging already
    /// on ([`Error::AiAlreadyEnabled`]), the database changed since its last backup or
    /// `mark backedup` (`next_note_seq != note_seq_at_backup`: [`Error::NotBackedUp`]), or an
    /// extent that is not Empty ([`Error::ExtentNotEmpty`]).
    ///
    /// Durable order: the master block first (the commit point), then the extent's switch note
    /// and Busy header. A crash between leaves after-imaging on with an Empty busy extent,
    /// which reconcile treats as an unfinished `aimage end`: every extent is already Empty, so
    /// it only turns after-imaging off again (`ai_seq_current`, `ai_seq_expected` and
    /// `ai_begin_time` keep the values begin gave them).
    pub fn begin(
        &mut self,
        mb: &mut MasterBlockFile,
        first_note_seq: NoteSeq,
        now: i64,
    ) -> Result<(), Error> {
        self.check_usable(true)?;
        let m = *mb.get();
        assert_eq!(m.db_id, self.db_id, "another database's master block");
        if self.members.is_empty() {
            return Err(Error::NoAiExtents);
        }
        if m.ai_enabled {
            return Err(Error::AiAlreadyEnabled {
                busy_extent: m.ai_busy_extent,
            });
        }
        if m.next_note_seq != m.note_seq_at_backup {
            return Err(Error::NotBackedUp {
                next_note_seq: m.next_note_seq.0,
                note_seq_at_backup: m.note_seq_at_backup.0,
            });
        }
        if let Some(busy) = self
            .members
            .iter()
            .find(|x| x.header.state != AiState::Empty)
        {
            return Err(Error::ExtentNotEmpty {
                path: busy.spec.path.clone(),
                ai_number: busy.spec.ai_number,
                state: busy.header.state,
            });
        }
        self.guarded("aimage begin", |set| {
            let first = set.members[0].spec.ai_number;
            mb.update(|mb| {
                mb.ai_enabled = true;
                mb.ai_busy_extent = first;
                mb.ai_seq_current = AiSeq(1);
                mb.ai_seq_expected = AiSeq(1);
                mb.ai_begin_time = now;
            })
            .map_err(mb_error)?;
            let start = BusyStart {
                ai_seq: AiSeq(1),
                open_stamp: mb.get().open_stamp,
                ai_begin_time: now,
                switch_note_seq: first_note_seq,
                now_micros: now,
            };
            let capacity = set.members[0].spec.capacity_bytes();
            let writer = AiWriter::begin(set.take_file(0), &start, capacity)?;
            set.members[0].header = *writer.extent().header();
            set.writer = Some((0, writer));
            set.recovered_last = None;
            Ok(())
        })
    }

    /// The switch (extent full, `rfutil aimage new`, backup, quiet point): the next extent in
    /// circular order becomes Busy with `ai_seq_current + 1`, its `AiSwitch` note carrying
    /// `switch_note_seq` (the next sequence of the note stream); the old busy extent becomes
    /// Full with its exact `used_bytes`; the master block gets the new `ai_seq_current`,
    /// `ai_busy_extent` and `ai_switch_time`.
    ///
    /// Refused, changing nothing: after-imaging off ([`Error::AiNotEnabled`]), a single extent
    /// ([`Error::OnlyOneExtent`]), the next extent not Empty ([`Error::NextExtentFull`], 3774).
    ///
    /// Durable order: (1) the old extent's notes synced; (2) the new extent's switch note
    /// synced, then its Busy header; (3) the master block (the commit point); (4) the old
    /// extent's Full header.
    pub fn switch(
        &mut self,
        mb: &mut MasterBlockFile,
        switch_note_seq: NoteSeq,
        now: i64,
    ) -> Result<(), Error> {
        self.check_usable(true)?;
        let m = *mb.get();
        assert_eq!(m.db_id, self.db_id, "another database's master block");
        let Some((old, _)) = &self.writer else {
            return Err(Error::AiNotEnabled);
        };
        let old = *old;
        let old_header = self.members[old].header;
        assert!(
            m.ai_enabled
                && m.ai_busy_extent == self.members[old].spec.ai_number
                && m.ai_seq_current == old_header.ai_seq,
            "the master block does not match the busy AI extent"
        );
        let next = self.next_index(old);
        if next == old {
            return Err(Error::OnlyOneExtent {
                path: self.members[old].spec.path.clone(),
            });
        }
        if self.members[next].header.state != AiState::Empty {
            return Err(Error::NextExtentFull {
                path: self.members[next].spec.path.clone(),
            });
        }
        let seq = old_header.ai_seq.next();
        assert!(
            self.members
                .iter()
                .all(|x| x.header.state == AiState::Empty || x.header.ai_seq < seq),
            "a closed AI extent holds a sequence not below the busy one"
        );
        self.guarded("an AI extent switch", |set| {
            let (_, mut old_writer) = set.writer.take().expect("checked above");
            old_writer.flush_and_sync()?;
            let start = BusyStart {
                ai_seq: seq,
                open_stamp: m.open_stamp,
                ai_begin_time: m.ai_begin_time,
                switch_note_seq,
                now_micros: now,
            };
            let capacity = set.members[next].spec.capacity_bytes();
            let new_writer = AiWriter::begin(set.take_file(next), &start, capacity)?;
            set.members[next].header = *new_writer.extent().header();
            let number = set.members[next].spec.ai_number;
            mb.update(|mb| {
                mb.ai_seq_current = seq;
                mb.ai_busy_extent = number;
                mb.ai_switch_time = now;
            })
            .map_err(mb_error)?;
            set.writer = Some((next, new_writer));
            let closed = old_writer.finish(AiState::Full, now)?;
            set.members[old].header = *closed.header();
            set.members[old].scanned = None;
            set.members[old].file = Some(closed);
            Ok(())
        })
    }

    /// `rfutil aimage end`: every extent becomes Empty and the master block turns
    /// after-imaging off (`ai_busy_extent` 0). The notes of the busy and full extents are
    /// discarded: archive them first. Also runs on a set that is not reconciled (it needs no
    /// agreement between the extents and the master block), and again after any failure.
    ///
    /// Durable order with after-imaging on: (1) the busy extent Empty (the commit point: the
    /// master block then names an Empty busy extent, which only an unfinished end leaves);
    /// (2) every other non-Empty extent Empty; (3) the master block.
    pub fn end(&mut self, mb: &mut MasterBlockFile) -> Result<(), Error> {
        self.check_usable(false)?;
        assert_eq!(
            mb.get().db_id,
            self.db_id,
            "another database's master block"
        );
        self.guarded("aimage end", |set| {
            if let Some((i, writer)) = set.writer.take() {
                // The writer's buffered notes are discarded with the extent.
                let file = writer.extent().file().clone();
                let path = set.members[i].spec.path.clone();
                drop(writer);
                set.members[i].file = Some(AiExtentFile::open(file, path)?);
            }
            let busy_first = set.index_of(mb.get().ai_busy_extent);
            let order = busy_first
                .into_iter()
                .chain((0..set.members.len()).filter(|&i| Some(i) != busy_first));
            for i in order.collect::<Vec<_>>() {
                if set.members[i].header.state != AiState::Empty {
                    set.make_empty(i)?;
                }
            }
            if mb.get().ai_enabled {
                mb.update(|mb| {
                    mb.ai_enabled = false;
                    mb.ai_busy_extent = 0;
                })
                .map_err(mb_error)?;
            }
            set.recovered_last = None;
            Ok(())
        })
    }

    /// `rfutil aimage extent empty [n]`: extent `which` (default: the oldest Full one) goes
    /// from Full to Empty; returns its number. Refused, changing nothing: no Full extent
    /// ([`Error::NoFullExtent`]), no such extent ([`Error::NoSuchExtent`]), a Busy
    /// ([`Error::CannotEmptyBusy`]), Empty ([`Error::AlreadyEmpty`]) or Locked
    /// ([`Error::CannotEmptyLocked`]) extent.
    ///
    /// Durable order: the Empty header, then for a variable extent the truncation, synced.
    /// Reconcile finishes a truncation cut short.
    pub fn empty(&mut self, which: Option<u32>) -> Result<u32, Error> {
        self.check_usable(true)?;
        let i = match which {
            None => self.oldest_full_index().ok_or(Error::NoFullExtent)?,
            Some(n) => self
                .index_of(n)
                .ok_or(Error::NoSuchExtent { ai_number: n })?,
        };
        let m = &self.members[i];
        let (path, ai_number) = (m.spec.path.clone(), m.spec.ai_number);
        match m.header.state {
            AiState::Full => {}
            AiState::Busy => return Err(Error::CannotEmptyBusy { path, ai_number }),
            AiState::Empty => return Err(Error::AlreadyEmpty { path, ai_number }),
            AiState::Locked => return Err(Error::CannotEmptyLocked { path, ai_number }),
        }
        self.guarded("aimage extent empty", |set| set.make_empty(i))?;
        Ok(ai_number)
    }

    /// Cuts the busy extent's notes after note `last` (notes synced to the AI but never to
    /// the BI, found when the database opens): everything after that note is cleared (a
    /// variable extent truncated, a fixed one zeroed to its end) and synced, with the header's
    /// `used_bytes` 0 (unknown) first, and the writer resumes there. Returns the offset cut at,
    /// or `None` when `last` is already the last note. Panics (a caller bug) unless the set is
    /// reconciled with after-imaging on and `last` is a note of the busy extent.
    ///
    /// A crash part way leaves a busy extent whose end the next reconcile clears from the end
    /// of its notes, so the cut can simply be made again.
    pub fn truncate_busy_after(&mut self, last: NoteSeq) -> Result<Option<u64>, Error> {
        self.check_usable(true)?;
        let (i, writer) = self
            .writer
            .take()
            .expect("the busy extent is cut only while after-imaging is on");
        let path = self.members[i].spec.path.clone();
        let file = writer.extent().file().clone();
        drop(writer);
        self.guarded("cutting the busy AI extent", |set| {
            let mut extent = AiExtentFile::open(file.clone(), &path)?;
            let header = *extent.header();
            let mut reader = ExtentReader::new(file.clone(), &path, &header)?;
            let mut cut_at = None;
            let mut more_after = false;
            while let Some(note) = reader.next()? {
                if cut_at.is_some() {
                    more_after = true;
                    break;
                }
                if note.header.note_seq == last {
                    cut_at = Some(reader.offset());
                }
            }
            let cut_at = cut_at.unwrap_or_else(|| {
                panic!(
                    "note {last} is not in the busy AI extent {}",
                    path.display()
                )
            });
            if more_after {
                if header.used_bytes != 0 {
                    extent.set_header(AiHeader {
                        used_bytes: 0,
                        ..header
                    })?;
                }
                let len = file
                    .len()
                    .map_err(io_error(&path, "get the length of", 0))?;
                if header.ext.fixed {
                    const CHUNK: u64 = 1 << 20;
                    let zeros = vec![0u8; CHUNK as usize];
                    let mut at = cut_at;
                    while at < len {
                        let n = CHUNK.min(len - at);
                        file.write_at(&zeros[..n as usize], at).map_err(io_error(
                            &path,
                            "clear notes after the cut in",
                            at,
                        ))?;
                        at += n;
                    }
                } else {
                    file.set_len(cut_at)
                        .map_err(io_error(&path, "truncate", cut_at))?;
                }
                file.sync().map_err(io_error(&path, "sync", cut_at))?;
            }
            set.members[i].header = *extent.header();
            let capacity = set.members[i].spec.capacity_bytes();
            let writer = AiWriter::resume(extent, capacity)?;
            assert_eq!(
                writer.end_offset(),
                cut_at,
                "the busy extent ends at the cut"
            );
            set.writer = Some((i, writer));
            set.recovered_last = Some(last);
            Ok(more_after.then_some(cut_at))
        })
    }
}
