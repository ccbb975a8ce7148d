use super::*;

#[test]
fn parses_every_statement() {
    assert_eq!(parse("begin", 1).unwrap(), Some(Statement::Begin));
    assert_eq!(parse("  COMMIT ", 1).unwrap(), Some(Statement::Commit));
    assert_eq!(parse("rollback", 1).unwrap(), Some(Statement::Rollback));
    assert_eq!(
        parse("insert t k a value with spaces", 1).unwrap(),
        Some(Statement::Insert("t", "k", "a value with spaces"))
    );
    assert_eq!(
        parse("update t k v", 1).unwrap(),
        Some(Statement::Update("t", "k", "v"))
    );
    assert_eq!(
        parse("delete t k", 1).unwrap(),
        Some(Statement::Delete("t", "k"))
    );
    assert_eq!(parse("get t k", 1).unwrap(), Some(Statement::Get("t", "k")));
    assert_eq!(
        parse("sleep 0.5", 1).unwrap(),
        Some(Statement::Sleep(Duration::from_millis(500)))
    );
    assert_eq!(parse("# comment", 1).unwrap(), None);
    assert_eq!(parse("   ", 1).unwrap(), None);
}

#[test]
fn rejects_bad_lines_with_their_number() {
    for (line, bad) in [
        (3, "frobnicate t k"),
        (4, "insert t k"),
        (5, "delete t"),
        (6, "get t k extra"),
        (7, "sleep -1"),
        (8, "sleep soon"),
        (9, "begin now"),
    ] {
        match parse(bad, line) {
            Err(Error::Script { line: l, .. }) => assert_eq!(l, line, "{bad}"),
            other => panic!("{bad}: expected a script error, got {other:?}"),
        }
    }
}
