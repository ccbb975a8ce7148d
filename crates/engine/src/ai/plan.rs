//! [`AiPlan`]: the log's model of where each appended note will land in the AI extents, so the
//! switch to the next extent is decided when a note is appended, under the log's lock.
//!
//! Invariants: `end` is the byte offset in the busy extent just after every note appended so
//! far (written or still buffered) and never passes the extent's capacity; an extent counts as
//! available for a switch only while it is Empty, and becomes available again only once the
//! extent set has emptied it durably ([`AiPlan::mark_empty`], never the busy extent), so a
//! planned switch always finds its extent Empty.

use std::path::PathBuf;

use aiextent::{AI_HEADER_REGION_BYTES, AiState, ExtentSet, FRAME_HEADER_LEN, NOTE_HEADER_LEN};
use masterblock::AiSeq;

/// Bytes of an `AiSwitch` note's frame (no payload).
pub(crate) const SWITCH_FRAME_LEN: u64 = (FRAME_HEADER_LEN + NOTE_HEADER_LEN) as u64;

struct Slot {
    ai_number: u32,
    path: PathBuf,
    capacity_bytes: u64,
    empty: bool,
}

/// Where the next switch goes, if it can be made.
pub(crate) enum Next {
    /// To the slot at this index, which is Empty.
    To(usize),
    /// The next extent (this path) is not Empty.
    NotEmpty(PathBuf),
    /// There is no other extent (the busy one's path).
    OnlyOne(PathBuf),
}

/// The planned state of the AI extents, as of every note appended so far.
pub(crate) struct AiPlan {
    ring: Vec<Slot>,
    busy: usize,
    end: u64,
    seq: AiSeq,
}

impl AiPlan {
    /// The plan of a reconciled, aligned set with after-imaging on, whose busy extent has
    /// sequence `seq`. Panics without a writer.
    pub(crate) fn new(set: &ExtentSet, seq: AiSeq) -> AiPlan {
        let writer = set.writer().expect("after-imaging is on");
        let busy_number = set.busy().expect("after-imaging is on");
        let ring: Vec<Slot> = set
            .extents()
            .into_iter()
            .map(|info| Slot {
                ai_number: info.ai_number,
                capacity_bytes: set
                    .spec(info.ai_number)
                    .expect("the set knows its extents")
                    .capacity_bytes(),
                path: info.path,
                empty: info.state == AiState::Empty,
            })
            .collect();
        let busy = ring
            .iter()
            .position(|s| s.ai_number == busy_number)
            .expect("the busy extent is in the set");
        AiPlan {
            ring,
            busy,
            end: writer.end_offset(),
            seq,
        }
    }

    /// Whether a frame of `frame_len` bytes fits in the busy extent after the notes so far.
    pub(crate) fn fits(&self, frame_len: usize) -> bool {
        self.end
            .checked_add(frame_len as u64)
            .is_some_and(|end| end <= self.ring[self.busy].capacity_bytes)
    }

    /// Counts a frame appended to the busy extent.
    pub(crate) fn add(&mut self, frame_len: usize) {
        self.end += frame_len as u64;
    }

    /// Where a switch would go now.
    pub(crate) fn next(&self) -> Next {
        let to = (self.busy + 1) % self.ring.len();
        if to == self.busy {
            Next::OnlyOne(self.ring[to].path.clone())
        } else if !self.ring[to].empty {
            Next::NotEmpty(self.ring[to].path.clone())
        } else {
            Next::To(to)
        }
    }

    /// The busy extent's number.
    pub(crate) fn busy_number(&self) -> u32 {
        self.ring[self.busy].ai_number
    }

    /// The extent number of slot `to`.
    pub(crate) fn number_of(&self, to: usize) -> u32 {
        self.ring[to].ai_number
    }

    /// The sequence the next switch gives.
    pub(crate) fn next_seq(&self) -> AiSeq {
        self.seq.next()
    }

    /// Counts extent `ai_number` as Empty again: the extent set has emptied it (it was Full).
    pub(crate) fn mark_empty(&mut self, ai_number: u32) {
        let i = self
            .ring
            .iter()
            .position(|s| s.ai_number == ai_number)
            .expect("an emptied extent is in the plan");
        assert_ne!(i, self.busy, "the busy extent is never emptied");
        self.ring[i].empty = true;
    }

    /// Records a switch to slot `to` (from [`AiPlan::next`]): the new extent holds its switch
    /// note. Returns the new sequence.
    pub(crate) fn switched(&mut self, to: usize) -> AiSeq {
        assert!(self.ring[to].empty, "a switch goes to an Empty extent");
        self.ring[self.busy].empty = false;
        self.ring[to].empty = false;
        self.busy = to;
        self.end = AI_HEADER_REGION_BYTES + SWITCH_FRAME_LEN;
        self.seq = self.seq.next();
        self.seq
    }
}
