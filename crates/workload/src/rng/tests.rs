use super::Rng;

#[test]
fn splitmix64_reference_sequence() {
    // The published SplitMix64 outputs for seed 0.
    let mut rng = Rng::new(0);
    assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
    assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
}

#[test]
fn same_seed_same_sequence() {
    let mut a = Rng::new(42);
    let mut b = Rng::new(42);
    for _ in 0..100 {
        assert_eq!(a.next_u64(), b.next_u64());
    }
    assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
}

#[test]
fn streams_differ() {
    let mut s0 = Rng::stream(7, 0);
    let mut s1 = Rng::stream(7, 1);
    let mut t0 = Rng::stream(8, 0);
    let a = s0.next_u64();
    assert_ne!(a, s1.next_u64());
    assert_ne!(a, t0.next_u64());
    assert_eq!(Rng::stream(7, 0).next_u64(), a);
}

#[test]
fn below_stays_in_range_and_covers_it() {
    let mut rng = Rng::new(3);
    let mut seen = [0u32; 7];
    for _ in 0..7000 {
        let x = rng.below(7);
        assert!(x < 7);
        seen[x as usize] += 1;
    }
    for count in seen {
        assert!((800..1200).contains(&count), "count {count} far from 1000");
    }
    assert_eq!(rng.below(1), 0);
}

#[test]
fn range_inclusive_reaches_both_ends() {
    let mut rng = Rng::new(9);
    let (mut lo, mut hi) = (false, false);
    for _ in 0..2000 {
        let x = rng.range_inclusive(-5, 5);
        assert!((-5..=5).contains(&x));
        lo |= x == -5;
        hi |= x == 5;
    }
    assert!(lo && hi);
    assert_eq!(rng.range_inclusive(3, 3), 3);
    // The full range takes the path without rejection sampling.
    rng.range_inclusive(i64::MIN, i64::MAX);
}

#[test]
fn pick_returns_an_element() {
    let mut rng = Rng::new(11);
    let items = ["a", "b", "c"];
    for _ in 0..50 {
        assert!(items.contains(rng.pick(&items)));
    }
}
