//! Split planning tests: separator choice and split points for balanced and edge inserts.

use super::*;

#[test]
fn separators_are_shortest_prefixes() {
    assert_eq!(separator(b"apple", b"banana").unwrap(), b"b");
    assert_eq!(separator(b"abc", b"abd").unwrap(), b"abd");
    assert_eq!(separator(b"ab", b"abc").unwrap(), b"abc");
    assert_eq!(separator(b"", b"\0").unwrap(), b"\0");
    assert_eq!(separator(b"abcd", b"abx").unwrap(), b"abx");
    assert_eq!(separator(b"ab0", b"ab1zzz").unwrap(), b"ab1");
    assert!(separator(b"b", b"a").is_none());
    assert!(separator(b"a", b"a").is_none());
}

#[test]
fn leaf_split_balances_by_bytes() {
    // Sizes include the slot.
    let k = choose_split(Kind::Leaf, &[100, 100, 100, 100, 100], 300, Hint::Balanced).unwrap();
    assert!(k == 2 || k == 3);
    let k = choose_split(Kind::Leaf, &[250, 10, 10, 10, 250], 300, Hint::Balanced).unwrap();
    assert!((2..=3).contains(&k));
    // Two halves of at most half the capacity each always fit.
    assert_eq!(
        choose_split(Kind::Leaf, &[150, 150, 150], 300, Hint::Balanced),
        Some(1)
    );
    assert_eq!(
        choose_split(Kind::Leaf, &[301, 1], 300, Hint::Balanced),
        None
    );
}

#[test]
fn edge_hints_keep_sequential_loads_dense() {
    let sizes = [50; 7];
    // A leaf keeps at most 90% of 300 bytes (five cells, 250 bytes): room for values to grow.
    assert_eq!(choose_split(Kind::Leaf, &sizes, 300, Hint::Append), Some(5));
    assert_eq!(
        choose_split(Kind::Leaf, &sizes, 300, Hint::Prepend),
        Some(1)
    );
    assert_eq!(
        choose_split(Kind::Internal, &sizes, 300, Hint::Append),
        Some(5)
    );
    assert_eq!(
        choose_split(Kind::Internal, &sizes, 300, Hint::Prepend),
        Some(1)
    );
    // A hint that does not fit falls back to a balanced split: no prefix of these leaves a
    // leaf 90% full or less, and of the splits that fit, 380 | 20 is the closer.
    assert_eq!(
        choose_split(Kind::Leaf, &[380, 10, 10], 400, Hint::Append),
        Some(1)
    );
    assert_eq!(
        choose_split(Kind::Leaf, &[200, 200, 200], 400, Hint::Append),
        Some(1)
    );
    assert_eq!(
        choose_split(Kind::Leaf, &[250, 250, 50], 300, Hint::Prepend),
        Some(1)
    );
    assert_eq!(
        choose_split(Kind::Leaf, &[50, 250, 250], 300, Hint::Prepend),
        Some(2)
    );
}

#[test]
fn internal_split_sends_the_middle_up() {
    let k = choose_split(Kind::Internal, &[60; 9], 300, Hint::Balanced).unwrap();
    assert_eq!(k, 4);
}
