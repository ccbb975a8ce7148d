//! Preparing buffers ahead gives exactly the frames a fresh pool hands out first their memory,
//! and stops when told to.

use std::sync::atomic::AtomicBool;

use super::Pool;

fn buffer_lens(pool: &Pool) -> Vec<usize> {
    pool.frames
        .iter()
        .map(|f| f.latch.read().buf.len())
        .collect()
}

#[test]
fn prepares_the_first_frames_only() {
    let pool = Pool::new(6, 8192);
    pool.prepare_buffers(4, &AtomicBool::new(false));
    assert_eq!(buffer_lens(&pool), [8192, 8192, 8192, 8192, 0, 0]);
    // The first frame handed out is the first one prepared.
    let first = pool.table.lock().free.pop();
    assert_eq!(first, Some(0));
}

#[test]
fn more_than_the_pool_prepares_every_frame_and_a_stop_prepares_none() {
    let pool = Pool::new(3, 4096);
    pool.prepare_buffers(usize::MAX, &AtomicBool::new(false));
    assert_eq!(buffer_lens(&pool), [4096; 3]);
    let stopped = Pool::new(3, 4096);
    stopped.prepare_buffers(3, &AtomicBool::new(true));
    assert_eq!(buffer_lens(&stopped), [0; 3]);
}

#[test]
fn frames_prepared_are_unpinned_after() {
    let pool = Pool::new(2, 4096);
    pool.prepare_buffers(2, &AtomicBool::new(false));
    for frame in pool.frames.iter() {
        assert_eq!(frame.pins.load(std::sync::atomic::Ordering::Acquire), 0);
    }
}
