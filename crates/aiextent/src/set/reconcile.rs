//! [`ExtentSet::reconcile`]: after a crash, finishes or undoes the `aimage begin`, switch,
//! `aimage end` or `aimage extent empty` that was cut short, from what the master block and
//! the extent headers say (the rules are in ai-extent.md, "Switch protocol").
//!
//! Invariant: reconcile decides everything from the disk before it writes anything, refuses a
//! state that no interrupted operation leaves, and only writes steps that a later reconcile
//! recognises again, so a crash during reconcile is reconciled the same way.

use std::collections::BTreeMap;
use std::fmt;

use masterblock::{AiSeq, MasterBlockFile};

use super::ExtentSet;
use crate::Error;
use crate::extent::{AI_HEADER_REGION_BYTES, AiHeader, AiState, AiWriter};

/// What [`ExtentSet::reconcile`] did, for the database log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Repair {
    /// The master block named an Empty busy extent: an `aimage end` (or the first step of an
    /// `aimage begin`) was cut short. Every extent is now Empty and after-imaging is off.
    FinishedEnd {
        /// The extents that were emptied now.
        emptied: Vec<u32>,
    },
    /// A switch was cut short before the master block recorded it: the extent it had made
    /// busy is Empty again and the old one stays busy.
    UndidSwitch {
        /// The extent emptied.
        ai_number: u32,
        /// The sequence it had been given.
        ai_seq: AiSeq,
    },
    /// A switch was cut short after the master block recorded it: the old busy extent is now
    /// Full.
    FinishedSwitch {
        /// The extent marked Full.
        ai_number: u32,
        /// Its sequence.
        ai_seq: AiSeq,
        /// Bytes of notes it holds.
        used_bytes: u64,
    },
    /// The busy extent was not closed cleanly: whatever lay after the end of its notes (parts
    /// of notes written but not synced before the crash) was cleared, so that it can never be
    /// read as a continuation of the notes appended from now on.
    ClearedTail {
        /// The busy extent.
        ai_number: u32,
        /// Where its notes end.
        from_offset: u64,
    },
    /// An `aimage extent empty` was cut short before the variable extent was truncated.
    FinishedEmpty {
        /// The extent truncated.
        ai_number: u32,
    },
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Repair::FinishedEnd { emptied } => write!(
                f,
                "an interrupted aimage end was finished: after-imaging is off, extents emptied now: {emptied:?}"
            ),
            Repair::UndidSwitch { ai_number, ai_seq } => write!(
                f,
                "an interrupted AI switch was undone: extent {ai_number} (sequence {ai_seq}) is empty again"
            ),
            Repair::FinishedSwitch {
                ai_number,
                ai_seq,
                used_bytes,
            } => write!(
                f,
                "an interrupted AI switch was finished: extent {ai_number} (sequence {ai_seq}, {used_bytes} bytes of notes) is full"
            ),
            Repair::ClearedTail {
                ai_number,
                from_offset,
            } => write!(
                f,
                "AI extent {ai_number} was not closed cleanly: unsynced data after byte {from_offset} was cleared"
            ),
            Repair::FinishedEmpty { ai_number } => write!(
                f,
                "an interrupted aimage extent empty was finished: extent {ai_number} truncated"
            ),
        }
    }
}

/// What reconcile will do to one Busy extent that is not the master block's.
enum Fix {
    Undo(usize),
    Finish(usize),
}

impl ExtentSet {
    /// Brings the extents and the master block to a consistent state after a crash, and with
    /// after-imaging on resumes the busy extent's writer. Runs once, right after
    /// [`ExtentSet::open`] and before any change. Returns what it repaired.
    ///
    /// With after-imaging on (`X` = `ai_busy_extent`, `c` = `ai_seq_current`):
    /// - `X` Empty: an unfinished `aimage end` (or `aimage begin`): every extent becomes Empty
    ///   and after-imaging off.
    /// - `X` Busy with sequence `c`: another Busy extent with `c + 1` that follows `X` is an
    ///   unfinished switch the master block did not record: it becomes Empty. One with `c - 1`
    ///   that `X` follows is an unfinished switch the master block recorded: it becomes Full
    ///   with the length of its notes, as found by reading them.
    /// - Anything else ([`Error::Inconsistent`]): `X` missing, Full, Locked or of another
    ///   sequence; another Busy extent; Full or Locked sequences repeated or not below `c`.
    ///
    /// With after-imaging off nothing is Busy after any of this set's operations; extents left
    /// non-Empty (a copy, a rolled-forward database) are left as they are for the DBA (`aimage
    /// end` empties them).
    ///
    /// In both cases an Empty variable extent longer than its header region (an
    /// `aimage extent empty` cut short) is truncated.
    pub fn reconcile(&mut self, mb: &mut MasterBlockFile) -> Result<Vec<Repair>, Error> {
        self.check_usable(false)?;
        assert!(!self.reconciled, "reconcile runs once, right after open");
        assert_eq!(
            mb.get().db_id,
            self.db_id,
            "another database's master block"
        );
        let m = *mb.get();
        let mut repairs = Vec::new();
        if !m.ai_enabled {
            self.guarded("crash recovery of the AI extents", |set| {
                for ai_number in set.truncate_leftovers()? {
                    repairs.push(Repair::FinishedEmpty { ai_number });
                }
                Ok(())
            })?;
            self.reconciled = true;
            return Ok(repairs);
        }
        let c = m.ai_seq_current;
        let x = self
            .index_of(m.ai_busy_extent)
            .ok_or_else(|| Error::Inconsistent {
                detail: format!(
                    "the master block names AI extent {} as busy, but the database has no such extent",
                    m.ai_busy_extent
                ),
            })?;
        let xh = self.members[x].header;
        if xh.state == AiState::Empty {
            self.guarded("crash recovery of the AI extents", |set| {
                let mut emptied = Vec::new();
                for i in 0..set.members.len() {
                    if set.members[i].header.state != AiState::Empty {
                        set.make_empty(i)?;
                        emptied.push(set.members[i].spec.ai_number);
                    }
                }
                mb.update(|mb| {
                    mb.ai_enabled = false;
                    mb.ai_busy_extent = 0;
                })
                .map_err(|source| Error::MasterBlock { source })?;
                repairs.push(Repair::FinishedEnd { emptied });
                for ai_number in set.truncate_leftovers()? {
                    repairs.push(Repair::FinishedEmpty { ai_number });
                }
                Ok(())
            })?;
            self.reconciled = true;
            return Ok(repairs);
        }
        if xh.state != AiState::Busy || xh.ai_seq != c {
            return Err(Error::Inconsistent {
                detail: format!(
                    "the master block says AI extent {} is busy with sequence {c}, but it is {} with sequence {}",
                    m.ai_busy_extent, xh.state, xh.ai_seq
                ),
            });
        }
        let fixes = self.plan(x, c)?;
        self.guarded("crash recovery of the AI extents", |set| {
            for fix in fixes {
                match fix {
                    Fix::Undo(i) => {
                        let ai_seq = set.members[i].header.ai_seq;
                        set.make_empty(i)?;
                        repairs.push(Repair::UndidSwitch {
                            ai_number: set.members[i].spec.ai_number,
                            ai_seq,
                        });
                    }
                    Fix::Finish(i) => {
                        let (end, _) = set.members[i]
                            .scanned
                            .expect("a Busy extent was read at open");
                        let used_bytes = end - AI_HEADER_REGION_BYTES;
                        // The switch's time is when the new extent became busy.
                        let full_time = set.members[x].header.busy_time;
                        let file = set.file_mut(i);
                        file.close_as(AiState::Full, used_bytes, full_time)?;
                        let header = *file.header();
                        set.members[i].header = header;
                        set.members[i].scanned = None;
                        repairs.push(Repair::FinishedSwitch {
                            ai_number: set.members[i].spec.ai_number,
                            ai_seq: header.ai_seq,
                            used_bytes,
                        });
                    }
                }
            }
            for ai_number in set.truncate_leftovers()? {
                repairs.push(Repair::FinishedEmpty { ai_number });
            }
            let (end, last) = set.members[x]
                .scanned
                .expect("a Busy extent was read at open");
            if set.clear_tail(x, end)? {
                repairs.push(Repair::ClearedTail {
                    ai_number: set.members[x].spec.ai_number,
                    from_offset: end,
                });
            }
            let capacity = set.members[x].spec.capacity_bytes();
            let writer = AiWriter::resume(set.take_file(x), capacity)?;
            set.writer = Some((x, writer));
            set.recovered_last = last;
            Ok(())
        })?;
        self.reconciled = true;
        Ok(repairs)
    }

    /// Before the busy extent `x`, whose notes end at `end`, is written again: unless it was
    /// closed cleanly right there (`used_bytes` equal to its notes), clears everything after
    /// `end` (a variable extent is truncated, a fixed one zeroed to its end), synced; then sets
    /// `used_bytes` to 0 ("unknown") so that a crash before the next clean close clears it
    /// again. Returns whether the tail was cleared.
    ///
    /// Frames written but not synced before a crash can survive in part; once the same note
    /// sequences are appended again, one that survived after the new notes would verify and
    /// continue the sequence, and be read as a note that was never written.
    fn clear_tail(&mut self, x: usize, end: u64) -> Result<bool, Error> {
        let header = self.members[x].header;
        let clean = header.used_bytes != 0 && header.used_bytes == end - AI_HEADER_REGION_BYTES;
        let path = self.members[x].spec.path.clone();
        let file = self.file_mut(x);
        let f = file.file().clone();
        if !clean {
            let io = |op: &'static str, offset: u64| {
                let path = path.clone();
                move |source| Error::Io {
                    path,
                    op,
                    offset,
                    source,
                }
            };
            let len = f.len().map_err(io("get the length of", 0))?;
            if header.ext.fixed {
                const CHUNK: u64 = 1 << 20;
                let zeros = vec![0u8; CHUNK as usize];
                let mut at = end;
                while at < len {
                    let n = CHUNK.min(len - at);
                    f.write_at(&zeros[..n as usize], at)
                        .map_err(io("clear the unsynced tail of", at))?;
                    at += n;
                }
            } else if len > end {
                f.set_len(end).map_err(io("truncate", end))?;
            }
            f.sync().map_err(io("sync", end))?;
        }
        if header.used_bytes != 0 {
            file.set_header(AiHeader {
                used_bytes: 0,
                ..header
            })?;
            self.members[x].header = *file.header();
        }
        Ok(!clean)
    }

    /// Classifies every extent against busy extent `x` of sequence `c`; refuses what no
    /// interrupted operation leaves.
    fn plan(&self, x: usize, c: AiSeq) -> Result<Vec<Fix>, Error> {
        let mut fixes = Vec::new();
        let mut closed: BTreeMap<AiSeq, u32> = BTreeMap::new();
        for (i, member) in self.members.iter().enumerate() {
            let h = &member.header;
            let n = member.spec.ai_number;
            let closes = match h.state {
                AiState::Empty => false,
                _ if i == x => false,
                AiState::Busy if h.ai_seq.0 == c.0.wrapping_add(1) && i == self.next_index(x) => {
                    fixes.push(Fix::Undo(i));
                    false
                }
                AiState::Busy if h.ai_seq.0.wrapping_add(1) == c.0 && self.next_index(i) == x => {
                    fixes.push(Fix::Finish(i));
                    true
                }
                AiState::Busy => {
                    return Err(Error::Inconsistent {
                        detail: format!(
                            "AI extent {n} is also busy, with sequence {}, while extent {} is busy with sequence {c}",
                            h.ai_seq, self.members[x].spec.ai_number
                        ),
                    });
                }
                AiState::Full | AiState::Locked => true,
            };
            if !closes {
                continue;
            }
            if h.ai_seq >= c {
                return Err(Error::Inconsistent {
                    detail: format!(
                        "AI extent {n} is {} with sequence {}, not below the busy sequence {c}",
                        h.state, h.ai_seq
                    ),
                });
            }
            if let Some(other) = closed.insert(h.ai_seq, n) {
                return Err(Error::Inconsistent {
                    detail: format!("AI extents {other} and {n} both hold sequence {}", h.ai_seq),
                });
            }
        }
        Ok(fixes)
    }
}
