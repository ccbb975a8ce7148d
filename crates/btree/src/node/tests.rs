//! Node layout tests: parsing refuses every malformed header, slot and cell; edits keep the
//! node valid and touch only what they must.

use super::edit;
use super::*;

const LEN: usize = 1000;

fn leaf_with(keys: &[&[u8]]) -> Vec<u8> {
    let mut buf = vec![0; LEN];
    edit::format(&mut buf, Kind::Leaf, 0, NO_PAGE);
    for (i, k) in keys.iter().enumerate() {
        edit::insert_cell(&mut buf, Kind::Leaf, i, &leaf_cell(k, b"value")).unwrap();
    }
    buf
}

fn reason(buf: &[u8]) -> String {
    parse(buf).unwrap_err()
}

#[test]
fn limits_for_engine_block_sizes() {
    let limits: Vec<(usize, usize)> = [1000, 2024, 4072, 8168]
        .iter()
        .map(|&b| (max_key_len(b), max_record_len(b)))
        .collect();
    assert_eq!(
        limits,
        vec![(238, 486), (494, 998), (1006, 2022), (2030, 4070)]
    );
}

#[test]
fn empty_leaf_parses() {
    let buf = leaf_with(&[]);
    let node = parse(&buf).unwrap();
    assert_eq!(
        (node.kind, node.level, node.count, node.link),
        (Kind::Leaf, 0, 0, NO_PAGE)
    );
    assert_eq!(node.free_bytes(), LEN - HEADER_LEN);
    assert_eq!(
        &buf[..HEADER_LEN],
        &[2, 1, 0, 0, 0, 0, 0xE8, 3, 0, 0, 0, 0, 0, 0, 0, 0]
    );
}

#[test]
fn insert_remove_search_and_compact() {
    let mut buf = leaf_with(&[b"b", b"d", b"f"]);
    edit::insert_cell(&mut buf, Kind::Leaf, 0, &leaf_cell(b"a", b"")).unwrap();
    let node = parse(&buf).unwrap();
    let keys: Vec<&[u8]> = (0..node.count).map(|i| node.key(i)).collect();
    assert_eq!(keys, vec![&b"a"[..], b"b", b"d", b"f"]);
    assert_eq!(node.search(b"d"), Ok(2));
    assert_eq!(node.search(b"c"), Err(2));
    assert_eq!(node.search(b"z"), Err(4));
    assert_eq!(node.value(1), b"value");
    // Removing a middle cell leaves a hole that compaction closes without moving the cells
    // already packed at the end.
    let first_cell_at = node.slot(1);
    edit::remove_cell(&mut buf, Kind::Leaf, 2);
    let before = buf.clone();
    edit::compact(&mut buf, Kind::Leaf);
    let node = parse(&buf).unwrap();
    node.check_disjoint().unwrap();
    assert_eq!(node.slot(1), first_cell_at, "packed cells stay put");
    assert_eq!(before[first_cell_at..], buf[first_cell_at..]);
    let keys: Vec<&[u8]> = (0..node.count).map(|i| node.key(i)).collect();
    assert_eq!(keys, vec![&b"a"[..], b"b", b"f"]);
    let live: usize = node.live_bytes();
    assert_eq!(get_u16(&buf, OFF_CELL_START), LEN - live);
}

#[test]
fn removing_the_lowest_cell_reclaims_it() {
    let mut buf = leaf_with(&[b"a", b"b"]);
    let start = get_u16(&buf, OFF_CELL_START);
    edit::remove_cell(&mut buf, Kind::Leaf, 1);
    assert_eq!(
        get_u16(&buf, OFF_CELL_START),
        start + LEAF_CELL_HEADER + 1 + 5
    );
}

#[test]
fn insert_compacts_when_fragmented_and_refuses_when_full() {
    let mut buf = leaf_with(&[]);
    let big = leaf_cell(&[b'k'; 10], &[0; 470]);
    edit::insert_cell(&mut buf, Kind::Leaf, 0, &big).unwrap();
    let mut other = big.clone();
    other[LEAF_CELL_HEADER] = b'l';
    edit::insert_cell(&mut buf, Kind::Leaf, 1, &other).unwrap();
    assert!(edit::insert_cell(&mut buf, Kind::Leaf, 2, &leaf_cell(b"z", &[0; 10])).is_err());
    edit::remove_cell(&mut buf, Kind::Leaf, 1);
    edit::remove_cell(&mut buf, Kind::Leaf, 0);
    edit::insert_cell(&mut buf, Kind::Leaf, 0, &leaf_cell(b"m", &[1; 400])).unwrap();
    edit::insert_cell(&mut buf, Kind::Leaf, 1, &leaf_cell(b"n", &[2; 400])).unwrap();
    let node = parse(&buf).unwrap();
    node.check_disjoint().unwrap();
    assert_eq!(node.value(1), &[2; 400]);
}

#[test]
fn shrink_and_truncate() {
    let mut buf = leaf_with(&[b"a", b"b", b"c"]);
    let free = parse(&buf).unwrap().free_bytes();
    edit::shrink_leaf_value(&mut buf, 1, b"v");
    let node = parse(&buf).unwrap();
    assert_eq!(node.value(1), b"v");
    assert_eq!(node.free_bytes(), free + 4);
    edit::truncate(&mut buf, 1);
    assert_eq!(parse(&buf).unwrap().count, 1);
}

#[test]
fn internal_nodes() {
    let mut buf = vec![0; LEN];
    edit::write_fresh(
        &mut buf,
        Kind::Internal,
        2,
        10,
        &[internal_cell(11, b"g"), internal_cell(12, b"p")],
    );
    let node = parse(&buf).unwrap();
    assert_eq!((node.kind, node.level), (Kind::Internal, 2));
    assert_eq!((node.child(0), node.child(1), node.child(2)), (10, 11, 12));
    assert_eq!(node.child_index(b"a"), 0);
    assert_eq!(node.child_index(b"g"), 1);
    assert_eq!(node.child_index(b"h"), 1);
    assert_eq!(node.child_index(b"p"), 2);
    assert_eq!(node.value(0), b"");
}

fn set(buf: &mut [u8], off: usize, bytes: &[u8]) {
    buf[off..off + bytes.len()].copy_from_slice(bytes);
}

#[test]
fn every_header_fault_is_refused() {
    let good = leaf_with(&[b"a", b"b"]);
    let case = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut buf = good.clone();
        f(&mut buf);
        reason(&buf)
    };
    assert!(case(&|b| b[0] = 0).contains("unformatted"));
    assert!(case(&|b| b[0] = 0xFF).contains("free page"));
    assert!(case(&|b| b[0] = 9).contains("unknown node kind 9"));
    assert!(case(&|b| b[1] = 2).contains("version"));
    assert!(case(&|b| b[3] = 1).contains("reserved"));
    assert!(case(&|b| b[13] = 1).contains("reserved"));
    assert!(case(&|b| b[2] = 1).contains("leaf at level 1"));
    assert!(case(&|b| b[0] = 3).contains("level 0"));
    assert!(case(&|b| set(b, OFF_COUNT, &500u16.to_le_bytes())).contains("slots"));
    assert!(case(&|b| set(b, OFF_CELL_START, &1001u16.to_le_bytes())).contains("slots"));
    assert!(case(&|b| set(b, HEADER_LEN, &10u16.to_le_bytes())).contains("outside"));
    assert!(case(&|b| set(b, HEADER_LEN, &998u16.to_le_bytes())).contains("outside"));
    let off = get_u16(&good, HEADER_LEN);
    assert!(case(&|b| set(b, off, &300u16.to_le_bytes())).contains("past the end"));
    // A cell within the body but larger than a record may be.
    let mut buf = leaf_with(&[]);
    edit::insert_cell(&mut buf, Kind::Leaf, 0, &leaf_cell(b"a", &[0; 400])).unwrap();
    edit::insert_cell(&mut buf, Kind::Leaf, 1, &leaf_cell(b"b", &[0; 400])).unwrap();
    let low = get_u16(&buf, HEADER_LEN + 2);
    set(&mut buf, low + 2, &490u16.to_le_bytes());
    assert!(reason(&buf).contains("larger"));
    assert!(reason(&good[..100]).contains("100 bytes"));
    assert!(reason(&good[..10]).contains("10 bytes"));
}

#[test]
fn internal_faults_are_refused() {
    let mut buf = vec![0; LEN];
    edit::write_fresh(&mut buf, Kind::Internal, 1, 0, &[internal_cell(5, b"k")]);
    assert!(reason(&buf).contains("leftmost"));
    edit::write_fresh(&mut buf, Kind::Internal, 1, 4, &[internal_cell(0, b"k")]);
    assert!(reason(&buf).contains("page 0"));
}

#[test]
fn overlapping_cells_are_found() {
    let mut buf = leaf_with(&[b"a", b"b"]);
    let first = get_u16(&buf, HEADER_LEN);
    set(
        &mut buf,
        HEADER_LEN + 2,
        &((first + 1) as u16).to_le_bytes(),
    );
    let node = parse(&buf);
    // The shifted slot may or may not decode; if it does, the overlap is found.
    if let Ok(node) = node {
        assert!(node.check_disjoint().unwrap_err().contains("overlap"));
    }
    let buf = leaf_with(&[b"a", b"b"]);
    let mut dup = buf.clone();
    set(&mut dup, HEADER_LEN + 2, &(first as u16).to_le_bytes());
    assert!(parse(&dup).unwrap().check_disjoint().is_err());
}
