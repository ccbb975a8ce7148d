//! A backup file with any byte changed, or cut anywhere, is refused with a numbered error
//! naming an offset (never a panic), and a restore from it changes nothing.

mod common;

use std::path::Path;

use backup::{BackupOptions, backup, restore, verify_partial};
use common::*;
use storage::{OpenMode, StorageRef};

fn write_file(st: &StorageRef, path: &Path, bytes: &[u8]) {
    if st.exists(path) {
        st.remove(path).unwrap();
    }
    let f = st.open(path, OpenMode::CreateNew).unwrap();
    f.write_at(bytes, 0).unwrap();
}

/// The numbers a damaged backup file may be refused with.
const DAMAGED: [u32; 5] = [90910, 90911, 90912, 90913, 90914];

fn check_refused(st: &StorageRef, bytes: &[u8], what: &str) {
    let bad = bk("bad.bk");
    write_file(st, &bad, bytes);
    let err = verify_partial(st.as_ref(), &bad).unwrap_err();
    assert!(DAMAGED.contains(&err.msg_number()), "{what}: {err}");
    assert!(err.to_string().contains("offset"), "{what}: {err}");
}

fn corrupted_files_are_refused(compress: bool) {
    let (_sim, st) = machine();
    source(&st, 12);
    let opts = BackupOptions {
        incremental: false,
        compress,
    };
    backup(&st, &src(), &bk("f.bk"), opts, &mut |_| {}).unwrap();
    let good = storage::read_all(st.as_ref(), &bk("f.bk")).unwrap();
    verify_partial(st.as_ref(), &bk("f.bk")).unwrap();
    // Every byte of the header and trailer, and a spread of the stream, flipped.
    let header_len = good.len().min(2048);
    let positions = (0..header_len)
        .chain((header_len..good.len() - 64).step_by(13))
        .chain(good.len() - 64..good.len());
    for at in positions {
        for mask in [0x01u8, 0x80] {
            let mut bytes = good.clone();
            bytes[at] ^= mask;
            check_refused(&st, &bytes, &format!("byte {at} ^ {mask:#x}"));
        }
    }
    // Cut at many lengths, and extended.
    for len in (0..good.len()).step_by(7) {
        check_refused(&st, &good[..len], &format!("cut at {len}"));
    }
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 100]);
    check_refused(&st, &longer, "extended");

    // A restore from a damaged file changes nothing.
    create(&st, &dst(), ST);
    let before = snapshot(st.as_ref(), "/dst");
    let mut bytes = good.clone();
    let mid = good.len() - 200;
    bytes[mid] ^= 0x10;
    write_file(&st, &bk("bad.bk"), &bytes);
    let err = restore(&st, &dst(), &bk("bad.bk"), &mut |_| {}).unwrap_err();
    assert!(DAMAGED.contains(&err.msg_number()), "{err}");
    assert!(snapshot(st.as_ref(), "/dst") == before);
}

#[test]
fn a_damaged_plain_backup_is_refused() {
    corrupted_files_are_refused(false);
}

#[test]
fn a_damaged_compressed_backup_is_refused() {
    corrupted_files_are_refused(true);
}

#[test]
fn a_file_that_is_not_a_backup_is_refused() {
    let (_sim, st) = machine();
    write_file(&st, &bk("x.bk"), b"hello, this is not a backup file at all");
    let err = verify_partial(st.as_ref(), &bk("x.bk")).unwrap_err();
    assert_eq!(err.msg_number(), 90910, "{err}");
    write_file(&st, &bk("y.bk"), &[7u8; 4096]);
    let err = verify_partial(st.as_ref(), &bk("y.bk")).unwrap_err();
    assert_eq!(err.msg_number(), 90911, "{err}");
}
