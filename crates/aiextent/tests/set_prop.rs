//! Property test of the extent set: random appends, syncs, switches (which meet 3774 when the
//! next extent is full), empties and crashes, between operations or in the middle of a switch
//! or an empty. After every crash the notes of all non-Empty extents, in sequence order, are
//! the notes appended to them, each extent whole except the busy one, which keeps at least
//! every synced note.

mod set_support;

use std::collections::BTreeMap;

use aiextent::{AiExtentSpec, AiState, Error, NoteKind};
use masterblock::NoteSeq;
use proptest::prelude::*;
use set_support::*;
use storage::{CrashMode, Fault, FaultKind, SimStorage};

#[derive(Clone, Copy, Debug)]
enum Op {
    Append(u8),
    Flush,
    Sync,
    Switch,
    Empty,
    /// A crash between operations; `Some(seed)` keeps a random subset of unsynced writes.
    Crash(Option<u64>),
    /// A crash at the `at`th storage operation of a switch (`true`) or an empty.
    CrashDuring {
        switch: bool,
        at: u8,
        torn: bool,
        seed: Option<u64>,
    },
}

fn arb_op() -> impl Strategy<Value = Op> {
    let seed = prop::option::of(any::<u64>());
    prop_oneof![
        4 => (1u8..12).prop_map(Op::Append),
        1 => Just(Op::Flush),
        2 => Just(Op::Sync),
        2 => Just(Op::Switch),
        2 => Just(Op::Empty),
        1 => seed.clone().prop_map(Op::Crash),
        2 => (any::<bool>(), 0u8..12, any::<bool>(), seed).prop_map(|(switch, at, torn, seed)| {
            Op::CrashDuring { switch, at, torn, seed }
        }),
    ]
}

/// What the extents should hold: the notes of each non-Empty extent by AI sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Model {
    extents: BTreeMap<u64, Vec<Seen>>,
    busy: u64,
    /// Notes of the busy extent known durable.
    synced: usize,
}

impl Model {
    /// Whether what was read back is this model, the busy extent holding any prefix of its
    /// notes that keeps the synced ones.
    fn matches(&self, back: &[(u64, AiState, Vec<Seen>)]) -> bool {
        if back.len() != self.extents.len() {
            return false;
        }
        back.iter().all(|(seq, state, notes)| {
            let Some(want) = self.extents.get(seq) else {
                return false;
            };
            if *seq == self.busy {
                *state == AiState::Busy
                    && notes.len() >= self.synced
                    && notes.len() <= want.len()
                    && notes[..] == want[..notes.len()]
            } else {
                *state != AiState::Busy && notes == want
            }
        })
    }
}

struct Run {
    ctx: Ctx,
    model: Model,
}

impl Run {
    fn new(specs: Vec<AiExtentSpec>) -> Run {
        let mut ctx = Ctx::new(specs);
        ctx.begin().unwrap();
        let model = Model {
            extents: BTreeMap::from([(1, vec![(1, NoteKind::AiSwitch)])]),
            busy: 1,
            synced: 1,
        };
        Run { ctx, model }
    }

    fn append(&mut self, n: u8) {
        for _ in 0..n {
            let seq = self.ctx.stream.next;
            let (_, r, u) = note_for(seq);
            let fits = self
                .ctx
                .set
                .writer()
                .unwrap()
                .would_fit(aiextent::encoded_len(&[(0, &r, &u)]));
            if !fits && !self.switch() {
                return;
            }
            self.ctx.append(1).unwrap();
            self.model
                .extents
                .get_mut(&self.model.busy)
                .unwrap()
                .push((seq, NoteKind::BlockChange));
        }
    }

    /// The model after a successful switch whose switch note is `seq`.
    fn switched(&self, seq: u64) -> Model {
        let mut after = self.model.clone();
        after.busy += 1;
        after
            .extents
            .insert(after.busy, vec![(seq, NoteKind::AiSwitch)]);
        after.synced = 1;
        after
    }

    /// A switch; false if the next extent is full (3774), which changes nothing.
    fn switch(&mut self) -> bool {
        let seq = self.ctx.stream.next;
        let ops = self.ctx.sim.op_count();
        match self.ctx.switch() {
            Ok(()) => {
                self.model = self.switched(seq);
                true
            }
            Err(e @ Error::NextExtentFull { .. }) => {
                assert_eq!(e.msg_number(), 3774);
                assert_eq!(self.ctx.sim.op_count(), ops, "a refused switch wrote");
                false
            }
            Err(e) => panic!("switch: {e}"),
        }
    }

    /// The model after emptying the oldest full extent, and its number, if there is one.
    fn emptied(&self) -> Option<(u32, Model)> {
        let n = self.ctx.set.oldest_full()?;
        let seq = self.ctx.set.header(n).unwrap().ai_seq.0;
        let mut after = self.model.clone();
        after.extents.remove(&seq);
        Some((n, after))
    }

    fn empty(&mut self) {
        match self.emptied() {
            Some((n, after)) => {
                assert_eq!(self.ctx.set.empty(None).unwrap(), n);
                self.model = after;
            }
            None => assert!(matches!(self.ctx.set.empty(None), Err(Error::NoFullExtent))),
        }
    }

    /// Reopens a crash image, checks it against the models allowed, and goes on from it.
    fn recover(&mut self, image: SimStorage, allowed: &[&Model]) {
        let specs = self.ctx.specs.clone();
        let (mb, set) = open_reconciled(&image, &specs);
        check_consistent(&mb, &set);
        let back = read_back(&set);
        check_contiguous_runs(&back);
        assert!(
            allowed.iter().any(|m| m.matches(&back)),
            "read back {back:?}\nallowed {allowed:?}"
        );
        let busy = mb.get().ai_seq_current.0;
        let last = set.recovered_last_note_seq().unwrap();
        self.model = Model {
            extents: back.iter().map(|(s, _, n)| (*s, n.clone())).collect(),
            busy,
            synced: back.iter().find(|(s, _, _)| *s == busy).unwrap().2.len(),
        };
        assert_eq!(Some(last.0), self.model.extents[&busy].last().map(|n| n.0));
        self.ctx = Ctx {
            sim: image,
            specs,
            mb,
            set,
            stream: Stream {
                next: last.0 + 1,
                appended: Vec::new(),
                synced: 0,
            },
            now: self.ctx.now + 1,
        };
    }

    fn image(&self, seed: Option<u64>) -> SimStorage {
        self.ctx.sim.crash_image(match seed {
            None => CrashMode::LoseUnsynced,
            Some(seed) => CrashMode::KeepRandomSubset { seed },
        })
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Append(n) => self.append(n),
            Op::Flush => self.ctx.flush().unwrap(),
            Op::Sync => {
                self.ctx.sync().unwrap();
                self.model.synced = self.model.extents[&self.model.busy].len();
            }
            Op::Switch => {
                self.switch();
            }
            Op::Empty => self.empty(),
            Op::Crash(seed) => {
                let image = self.image(seed);
                let model = self.model.clone();
                self.recover(image, &[&model]);
            }
            Op::CrashDuring {
                switch,
                at,
                torn,
                seed,
            } => {
                let before = self.model.clone();
                let kind = if torn {
                    FaultKind::TornWriteCrash
                } else {
                    FaultKind::Crash
                };
                let fault = Fault {
                    at_op: self.ctx.sim.op_count() + u64::from(at),
                    kind,
                };
                let after = if switch {
                    let seq = self.ctx.stream.next;
                    let after = self.switched(seq);
                    self.ctx.sim.set_fault(Some(fault));
                    let out = self.ctx.set.switch(&mut self.ctx.mb, NoteSeq(seq), 99);
                    match out {
                        Ok(()) => {
                            self.ctx.stream.next += 1;
                            after
                        }
                        Err(Error::NextExtentFull { .. }) => before.clone(),
                        Err(_) => {
                            assert!(self.ctx.sim.crashed());
                            after
                        }
                    }
                } else {
                    let Some((_, after)) = self.emptied() else {
                        return;
                    };
                    self.ctx.sim.set_fault(Some(fault));
                    let _ = self.ctx.set.empty(None);
                    after
                };
                let image = self.image(seed);
                self.recover(image, &[&before, &after]);
            }
        }
    }
}

/// Each extent's notes run without gaps and start with its switch note.
fn check_contiguous_runs(back: &[(u64, AiState, Vec<Seen>)]) {
    for (_, _, notes) in back {
        assert_eq!(notes.first().map(|n| n.1), Some(NoteKind::AiSwitch));
        assert!(notes.windows(2).all(|w| w[1].0 == w[0].0 + 1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_switches_empties_and_crashes_keep_every_synced_note(
        ops in prop::collection::vec(arb_op(), 1..40),
        fixed in any::<bool>(),
    ) {
        // 12 KiB extents: a few dozen notes fill one, so switches also happen when full.
        let layout = if fixed { specs(3, Some(12), 0) } else { specs(3, None, 12) };
        let mut run = Run::new(layout);
        for op in ops {
            run.run(op);
        }
        // The end: everything synced survives losing the rest.
        run.ctx.sync().unwrap();
        run.model.synced = run.model.extents[&run.model.busy].len();
        let image = run.image(None);
        let model = run.model.clone();
        run.recover(image, &[&model]);
        prop_assert_eq!(&run.model, &model);
    }
}
