use super::share_of;

#[test]
fn shares_add_up() {
    for (t, c) in [(0, 1), (200, 4), (7, 3), (1, 5)] {
        let total: u64 = (0..c).map(|i| share_of(t, c, i)).sum();
        assert_eq!(total, t);
    }
    assert_eq!(share_of(7, 3, 0), 3);
    assert_eq!(share_of(7, 3, 2), 2);
}
