//! Prepared buffers have the room and the contents asked for.

use super::{touched_vec, touched_zeros};

#[test]
fn buffers_have_the_room_and_contents_asked_for() {
    let v = touched_vec(10_000);
    assert!(v.is_empty() && v.capacity() >= 10_000);
    let z = touched_zeros(8192);
    assert_eq!(z.len(), 8192);
    assert!(z.iter().all(|&b| b == 0));
    assert!(touched_zeros(0).is_empty());
}
