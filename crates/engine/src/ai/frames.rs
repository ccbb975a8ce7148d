//! [`AiFrames`]: the frames a batch sends to the AI where they differ from the BI's. A
//! full-image note (the first change of a block in a checkpoint epoch) goes to the BI with the
//! whole body, which only crash recovery needs; the AI gets the same note with just the ranges
//! that changed.
//!
//! Invariants: substitutions are recorded in BI order and never overlap; each replaces exactly
//! one whole BI frame by one whole frame of the same note (same header, same resulting body),
//! sealed with the same seed; without after-imaging nothing is ever recorded (no allocation).

/// One BI frame replaced in the AI by a frame of `alt`.
#[derive(Clone, Copy, Debug)]
struct Sub {
    /// Where the replaced frame starts in the batch's BI frames.
    bi_at: usize,
    /// Bytes of the replaced frame.
    bi_len: usize,
    /// Where the replacement starts in `alt`.
    alt_at: usize,
    /// Bytes of the replacement.
    alt_len: usize,
}

/// The AI replacements of some BI frames of one batch.
#[derive(Default)]
pub(crate) struct AiFrames {
    subs: Vec<Sub>,
    alt: Vec<u8>,
}

impl AiFrames {
    /// True if the AI gets the BI frames unchanged.
    pub(crate) fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    /// Forgets every replacement (keeps the buffers).
    pub(crate) fn clear(&mut self) {
        self.subs.clear();
        self.alt.clear();
    }

    /// Records that the BI frame at `bi_at..bi_at + bi_len` of the batch is replaced in the AI
    /// by the frame `encode` appends to the buffer it is given.
    pub(crate) fn replace(
        &mut self,
        bi_at: usize,
        bi_len: usize,
        encode: impl FnOnce(&mut Vec<u8>),
    ) {
        assert!(
            self.subs.last().is_none_or(|s| s.bi_at + s.bi_len <= bi_at),
            "AI replacements in BI order"
        );
        let alt_at = self.alt.len();
        encode(&mut self.alt);
        self.subs.push(Sub {
            bi_at,
            bi_len,
            alt_at,
            alt_len: self.alt.len() - alt_at,
        });
    }

    /// Appends the AI's frames of the batch whose BI frames are `bi` to `out`.
    pub(crate) fn merge_into(&self, bi: &[u8], out: &mut Vec<u8>) {
        let mut at = 0;
        for s in &self.subs {
            out.extend_from_slice(&bi[at..s.bi_at]);
            out.extend_from_slice(&self.alt[s.alt_at..s.alt_at + s.alt_len]);
            at = s.bi_at + s.bi_len;
        }
        out.extend_from_slice(&bi[at..]);
    }
}
