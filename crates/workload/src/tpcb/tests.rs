use super::*;

#[test]
fn history_keys_are_unique_and_carry_the_run() {
    let k = history_key(3, 2, 17);
    assert_eq!(k, "h000003-0002-0000000017");
    assert_eq!(history_run(&k), Some(3));
    assert_eq!(history_run("hx-1"), None);
    assert_eq!(history_run("h12"), None);
    assert!(history_key(1, 9, 1) < history_key(2, 0, 1));
}

#[test]
fn history_delta_is_the_last_field() {
    assert_eq!(
        history_delta("h", b"aid=1,tid=2,bid=3,-4999").unwrap(),
        -4999
    );
    assert_eq!(history_delta("h", b"aid=1,tid=2,bid=3,0").unwrap(), 0);
    assert!(matches!(
        history_delta("h", b"aid=1,x"),
        Err(Error::BadField { .. })
    ));
    assert!(matches!(
        history_delta("h", b"aid=1,5001"),
        Err(Error::BadField { .. })
    ));
    assert!(matches!(
        history_delta("h", &[0xff]),
        Err(Error::NotText { .. })
    ));
}

#[test]
fn balanced_needs_all_four_equal() {
    let sums = TpcbSums {
        accounts: 5,
        tellers: 5,
        branches: 5,
        history: 5,
        history_rows: 1,
    };
    assert!(sums.balanced());
    assert!(!TpcbSums { history: 4, ..sums }.balanced());
    assert!(!TpcbSums { tellers: 4, ..sums }.balanced());
}

#[test]
fn shape_of_zero_is_refused() {
    assert!(matches!(
        check_shape(0, 1),
        Err(Error::InvalidSetting {
            setting: "scale",
            ..
        })
    ));
    assert!(matches!(
        check_shape(1, 0),
        Err(Error::InvalidSetting {
            setting: "accounts_per_branch",
            ..
        })
    ));
    assert!(check_shape(1, 1).is_ok());
}

#[test]
fn keys_sort_by_number() {
    assert_eq!(account_key(100_000), "a0000100000");
    assert!(account_key(9) < account_key(10));
    assert_eq!(branch_key(1), "b000001");
    assert_eq!(teller_key(10), "t0000010");
}
