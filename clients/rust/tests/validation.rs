//! Insert validation without a database: every refusal names its field and spec/15's rule,
//! and a contract violation names the kind, the pointer and the keyword.

use riverboat::{Args, ByArgs, Client, Config, Error, InsertOpts, InsertParams, JobState, UniqueOpts, RULES};
use serde_json::json;
use std::time::Duration;

mod common;
use common::field_of;

fn check_without_connection() {
    let cases: Vec<(InsertParams, &str, &str)> = vec![
        (InsertParams::new("k", json!([1, 2])), "args", "type"),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                queue: Some("Bad Queue".into()),
                ..Default::default()
            }),
            "queue",
            "pattern",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                queue: Some("mail__out".into()),
                ..Default::default()
            }),
            "queue",
            "pattern",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                queue: Some("q".repeat(65)),
                ..Default::default()
            }),
            "queue",
            "length",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                priority: Some(0),
                ..Default::default()
            }),
            "priority",
            "range",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                max_attempts: Some(0),
                ..Default::default()
            }),
            "max_attempts",
            "range",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                tags: Some(vec!["a,b,c".into()]),
                ..Default::default()
            }),
            "tags",
            "pattern",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                tags: Some(vec!["ab".into()]),
                ..Default::default()
            }),
            "tags",
            "length",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                tags: Some(vec!["-tag".into()]),
                ..Default::default()
            }),
            "tags",
            "pattern",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                metadata: Some(json!([1])),
                ..Default::default()
            }),
            "metadata",
            "type",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                metadata: Some(json!({"source": "signup", "river:periodic_job_id": "p1"})),
                ..Default::default()
            }),
            "metadata",
            "reserved",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                unique: Some(UniqueOpts {
                    by_args: ByArgs::Paths(vec![]),
                    exclude_kind: true,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            "unique_opts.exclude_kind",
            "requires_dimension",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                unique: Some(UniqueOpts {
                    by_period: Some(Duration::from_millis(500)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            "unique_opts.by_period",
            "range",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                unique: Some(UniqueOpts {
                    by_state: Some(vec![JobState::Available, JobState::Completed]),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            "unique_opts.by_state",
            "required_states",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                unique: Some(UniqueOpts {
                    by_period: Some(Duration::from_millis(1500)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            "unique_opts.by_period",
            "range",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                unique: Some(UniqueOpts {
                    by_state: Some(vec![]),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            "unique_opts.by_state",
            "required_states",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                queue: Some(format!("{}!", "a".repeat(26))),
                ..Default::default()
            }),
            "queue",
            "pattern",
        ),
        (InsertParams::new("k", json!({"s": "a\u{0}b"})), "args", "json"),
        (
            InsertParams {
                kind: "k".into(),
                args: Args::Raw(r#"{"a": {"b\u0000": 1}}"#.into()),
                opts: InsertOpts::default(),
            },
            "args",
            "json",
        ),
        (
            InsertParams::new("k", json!({})).with_opts(InsertOpts {
                metadata: Some(json!({"bad\u{0}key": 1})),
                ..Default::default()
            }),
            "metadata",
            "json",
        ),
    ];
    for (params, field, rule) in cases {
        assert_eq!(
            field_of(Client::new(Config::default()).check(&params).unwrap_err()),
            (field.to_string(), rule.to_string())
        );
    }
    // An escaped backslash followed by the text u0000 is not U+0000.
    let raw = InsertParams {
        kind: "k".into(),
        args: Args::Raw(r#"{"a": "\\u0000"}"#.into()),
        opts: InsertOpts::default(),
    };
    Client::new(Config::default()).check(&raw).unwrap();
    assert_eq!(
        JobState::parse("bogus").map_err(field_of).unwrap_err(),
        ("unique_opts.by_state".to_string(), "unknown_state".to_string())
    );
    // Args serde cannot turn into JSON (a map with non-string keys).
    let tuple_keys = std::collections::BTreeMap::from([((1, 2), 3)]);
    assert_eq!(
        Args::from_serialize(&tuple_keys).map_err(field_of).unwrap_err(),
        ("args".to_string(), "json".to_string())
    );
}

#[test]
fn validation_names_field_and_rule() {
    check_without_connection();
}

#[test]
fn rule_codes_are_spec_15s() {
    let spec = include_str!("../../../spec/15-errors.md");
    let table = &spec[spec.find("## 15.2").unwrap()..];
    let codes: Vec<&str> = table
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
        .collect();
    assert_eq!(codes, RULES);
}

#[test]
fn contract_violation_names_kind_pointer_and_keyword() {
    let mut client = Client::new(Config::default());
    client
        .load_contract(&json!({"riverboat_contract": 1, "kinds": {"email_send": {
                "args_schema": {"type": "object", "properties": {"to": {"type": "string"}}},
                "insert_opts": {"queue": "mail", "priority": null, "unique_opts": {"by_args": true}}}}}))
        .unwrap();
    match client
        .check(&InsertParams::new("email_send", json!({"to": 7})))
        .unwrap_err()
    {
        Error::Contract {
            kind, pointer, keyword, ..
        } => assert_eq!(
            (kind.as_str(), pointer.as_str(), keyword.as_str()),
            ("email_send", "/to", "type")
        ),
        other => panic!("expected a contract error, got {other}"),
    }
    client
        .check(&InsertParams::new("email_send", json!({"to": "a@example.com"})))
        .unwrap();
    client.check(&InsertParams::new("other", json!({"to": 7}))).unwrap();
    // A document that breaks the meta-schema is refused whole, naming the pointer.
    let bad = client
        .load_contract(&json!({"riverboat_contract": 1, "kinds": {"k": {"args_schema": {},
            "insert_opts": {"unique_opts": {"by_period_seconds": 1.5}}}}}))
        .unwrap_err();
    assert!(
        bad.to_string()
            .contains("/kinds/k/insert_opts/unique_opts/by_period_seconds"),
        "{bad}"
    );
    assert_eq!(field_of(bad), ("contract".to_string(), "contract".to_string()));
    assert!(client.load_contract(&json!({"kinds": {}})).is_err());
    let not_a_schema = client
        .set_kind_contract("k", &json!({"type": 7}), Default::default())
        .unwrap_err();
    assert_eq!(
        field_of(not_a_schema),
        (r#"contract.kinds["k"].args_schema"#.to_string(), "format".to_string())
    );
}
