//! Note encoding throughput: the cost every change pays on the append path before any I/O.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use masterblock::{AreaNo, BlockNo, NoteSeq, TxnId, UpdateCounter};

use aiextent::note::{NoteHeader, NoteKind, encode_note, encoded_len};

fn note_encode(c: &mut Criterion) {
    // A typical TPC-B record change: one slot of a leaf, a balance of a few bytes.
    let redo = b"1234567";
    let undo = b"7654321";
    let ranges: [(u16, &[u8], &[u8]); 1] = [(512, redo, undo)];
    let per_note = encoded_len(&ranges);
    let notes = 10_000u64;
    let mut out = Vec::with_capacity(per_note * notes as usize);
    let mut group = c.benchmark_group("note_append");
    group.throughput(Throughput::Bytes(per_note as u64 * notes));
    group.bench_function("encode_block_change", |b| {
        b.iter(|| {
            out.clear();
            for i in 0..notes {
                let header = NoteHeader {
                    note_seq: NoteSeq(i + 1),
                    kind: NoteKind::BlockChange,
                    compensation: false,
                    area: AreaNo(7),
                    block: BlockNo(42),
                    prior_counter: UpdateCounter(i),
                    txn: TxnId(i / 4 + 1),
                    aux: 0,
                };
                encode_note(&mut out, 1, &header, &ranges);
            }
            std::hint::black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, note_encode);
criterion_main!(benches);
