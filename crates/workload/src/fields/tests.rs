use super::*;

#[test]
fn parse_and_read_fields() {
    let f = Fields::parse("t", "k", b"name=Ann Lee;balance=-12;count=0").unwrap();
    assert_eq!(f.text("name").unwrap(), "Ann Lee");
    assert_eq!(f.int("balance").unwrap(), -12);
    assert_eq!(f.int_in("count", 0, 5).unwrap(), 0);
    assert!(matches!(
        f.int("name"),
        Err(Error::BadField { field: "name", .. })
    ));
    assert!(matches!(
        f.text("missing"),
        Err(Error::BadField {
            field: "missing",
            ..
        })
    ));
    assert!(matches!(
        f.int_in("balance", 0, 5),
        Err(Error::BadField {
            field: "balance",
            ..
        })
    ));
}

#[test]
fn not_text_is_refused() {
    assert!(matches!(
        Fields::parse("t", "k", &[0xff, 0xfe]),
        Err(Error::NotText { .. })
    ));
    assert!(matches!(
        value_int("t", "k", &[0xff]),
        Err(Error::NotText { .. })
    ));
}

#[test]
fn with_replaces_or_appends() {
    let f = Fields::parse("t", "k", b"a=1;b=2").unwrap();
    assert_eq!(f.with("b", "7"), "a=1;b=7");
    assert_eq!(f.with("c", "3"), "a=1;b=2;c=3");
    let empty = Fields::parse("t", "k", b"").unwrap();
    assert_eq!(empty.with("x", "1"), "x=1");
}

#[test]
fn integers_are_canonical() {
    assert_eq!(parse_int("0"), Some(0));
    assert_eq!(parse_int("-5000"), Some(-5000));
    assert_eq!(parse_int("9223372036854775807"), Some(i64::MAX));
    for bad in ["", "-", "+1", "01", "1.5", " 1", "9223372036854775808", "x"] {
        assert_eq!(parse_int(bad), None, "{bad:?}");
    }
    assert_eq!(value_int("t", "k", b"-42").unwrap(), -42);
    assert!(matches!(
        value_int("t", "k", b"4 2"),
        Err(Error::BadField { .. })
    ));
}

#[test]
fn keys_sort_in_number_order() {
    assert_eq!(key("c", 123, 6), "c000123");
    assert!(key("c", 99, 6) < key("c", 100, 6));
    assert_eq!(key_number("c", "c000123"), Some(123));
    assert_eq!(key_number("c", "x000123"), None);
    assert_eq!(key_number("c", "c"), None);
    assert_eq!(key_number("c", "c12a"), None);
}

#[test]
fn join_builds_fields() {
    assert_eq!(join(&[("a", &1), ("b", &"x y")]), "a=1;b=x y");
}
