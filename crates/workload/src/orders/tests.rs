use super::*;

#[test]
fn plans_stay_in_range_and_repeat_with_the_seed() {
    let customers: Vec<String> = (1..=3).map(|n| format!("c{n}")).collect();
    let items: Vec<String> = (1..=4).map(|n| format!("i{n}")).collect();
    let mut rng = Rng::new(5);
    let mut line_counts = std::collections::BTreeSet::new();
    for _ in 0..500 {
        let plan = plan_order(&mut rng, &customers, &items);
        assert!(customers.contains(&plan.customer));
        assert!((1..=MAX_ORDER_LINES as usize).contains(&plan.lines.len()));
        line_counts.insert(plan.lines.len());
        for (item, qty) in &plan.lines {
            assert!(items.contains(item));
            assert!((1..=MAX_LINE_QTY as i64).contains(qty));
        }
        assert!(plan.date.starts_with("2024-"));
    }
    assert_eq!(line_counts.len(), MAX_ORDER_LINES as usize);
    let a = plan_order(&mut Rng::new(9), &customers, &items);
    let b = plan_order(&mut Rng::new(9), &customers, &items);
    assert_eq!((a.customer, a.lines, a.date), (b.customer, b.lines, b.date));
}

#[test]
fn inconsistencies_read_as_sentences() {
    let p = Inconsistency::CustomerBalance {
        customer: "c000001".into(),
        balance: 5,
        orders_total: 7,
    };
    assert_eq!(
        p.to_string(),
        "customer c000001 has balance 5 but its orders total 7"
    );
    let s = Inconsistency::SequenceBehind {
        next_order_number: 3,
        highest_order: 4,
    };
    assert_eq!(s.to_string(), "sequence NextOrdNum is 3 but order 4 exists");
    assert!(OrdersAudit::default().consistent());
    assert!(
        !OrdersAudit {
            problems: vec![s],
            ..OrdersAudit::default()
        }
        .consistent()
    );
}
