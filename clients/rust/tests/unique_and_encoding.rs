use riverboat::json::{compact, encode, format_float};
use riverboat::time::{format_rfc3339, parse_rfc3339};
use riverboat::unique::{state_mask, unique_key};
use riverboat::{Args, ByArgs, Client, Config, Error, InsertOpts, InsertParams, JobState, UniqueOpts};
use serde_json::json;
use std::time::Duration;

mod common;
use common::field_of;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn key(kind: &str, args: &str, queue: &str, opts: &UniqueOpts, scheduled: Option<&str>) -> String {
    let now = parse_rfc3339("2026-01-02T03:04:05.6789Z").unwrap();
    let scheduled = scheduled.map(|s| parse_rfc3339(s).unwrap());
    hex(&unique_key(kind, args, queue, opts, scheduled, now).unwrap())
}

fn selected() -> UniqueOpts {
    UniqueOpts {
        by_args: ByArgs::Paths(vec![
            "account.id".into(),
            "account.region".into(),
            "label".into(),
            "path/key".into(),
        ]),
        ..Default::default()
    }
}

#[test]
fn issue_vectors() {
    let period = |m: u64| UniqueOpts {
        by_period: Some(Duration::from_secs(m * 60)),
        ..Default::default()
    };
    assert_eq!(
        key("conformance_simple", r#"{"id":42}"#, "default", &period(90), None),
        "5396f06a082abd7a929915135ebd363a9a47d800176b03ce7736f93a5ba9e22e"
    );
    assert_eq!(
        key(
            "conformance_simple",
            r#"{"id":42}"#,
            "default",
            &period(60),
            Some("2026-01-02T05:21:05.6789Z")
        ),
        "b7f3c49952996b760b8b3ff6cf48f426e03a6ef0f004fb6faa51725365cf309a"
    );
    assert_eq!(
        key(
            "conformance_simple",
            r#"{"id":42}"#,
            "default",
            &period(60),
            Some("2026-01-02T10:51:05.6789+05:30")
        ),
        "b7f3c49952996b760b8b3ff6cf48f426e03a6ef0f004fb6faa51725365cf309a"
    );
    let qk = UniqueOpts {
        by_queue: true,
        exclude_kind: true,
        ..Default::default()
    };
    assert_eq!(
        key("conformance_simple", r#"{"id":42}"#, "priority_emails", &qk, None),
        "d20ce47da8e8015e68b020bbca2b17494139519ae05f8985e5992db4d8dd8a09"
    );
    let all = UniqueOpts {
        by_args: ByArgs::All,
        by_period: Some(Duration::from_secs(60)),
        by_queue: true,
        by_state: Some(vec![
            JobState::Available,
            JobState::Completed,
            JobState::Pending,
            JobState::Running,
            JobState::Scheduled,
        ]),
        exclude_kind: false,
    };
    assert_eq!(
        key(
            "conformance_simple",
            r#"{"id":42}"#,
            "priority_emails",
            &all,
            Some("2026-01-02T05:21:05.6789Z")
        ),
        "6f20262e7b1fa9beaf98255f23030800376636484a98b20c2c04a303bab5a8d5"
    );
    assert_eq!(state_mask(&all), 213);
    let by_args = UniqueOpts {
        by_args: ByArgs::All,
        ..Default::default()
    };
    assert_eq!(state_mask(&by_args), 245);
    assert_eq!(
        key("conformance_all_args", "{}", "default", &by_args, None),
        "fe05a58ddb79a8d4544da962582d9a290d59788c920afd3597da3a62e3c1b0ac"
    );
    assert_eq!(
        key(
            "conformance_all_args",
            r#"{"nested":{"z":1,"a":2}}"#,
            "default",
            &by_args,
            None
        ),
        "46ff499cb031d0458bb00ef87e7b83321eefb6e7534497c279c4ae0f474cdde0"
    );
    assert_eq!(
        key("conformance_selected_args", "{}", "default", &selected(), None),
        "23aa86692d9807ab10e433e378f1c0804573f5e345818461b919322dd381b4c3"
    );
    assert_eq!(
        key(
            "conformance_selected_args",
            r#"{"account":{"id":"acct-123","ignored":"not selected"},"ignored":true,"label":"selected"}"#,
            "default",
            &selected(),
            None
        ),
        "6130dc4f753402d1faeb6bbc3e6c21415245bb282ad1fd16bcbfeebde525e726"
    );
    assert_eq!(
        key(
            "conformance_selected_args",
            r#"{"label":null}"#,
            "default",
            &selected(),
            None
        ),
        "d137d7c4f1e3f8369037b1890357655b4fa1978a329bcf51435f9f0b54abcab7"
    );
}

#[test]
fn canonical_args_sort_top_level_and_first_duplicate_wins() {
    let opts = UniqueOpts {
        by_args: ByArgs::All,
        ..Default::default()
    };
    let now = parse_rfc3339("2026-01-02T03:04:05Z").unwrap();
    let s =
        riverboat::unique::key_string("k", r#"{"b":{"y":1,"x":2},"a":1,"b":3}"#, "default", &opts, None, now).unwrap();
    assert_eq!(s, r#"&kind=k&args={"a":1,"b":{"y":1,"x":2}}"#);
    let s = riverboat::unique::key_string("k", r#"{"\u00e9":1,"<":2}"#, "default", &opts, None, now).unwrap();
    assert_eq!(s, "&kind=k&args={\"<\":2,\"\u{e9}\":1}");
}

#[test]
fn one_selected_path_inside_another_keeps_the_outer_value() {
    let opts = UniqueOpts {
        by_args: ByArgs::Paths(vec!["a.b".into(), "a".into()]),
        ..Default::default()
    };
    let now = parse_rfc3339("2026-01-02T03:04:05Z").unwrap();
    let canonical = |args: &str| riverboat::unique::key_string("k", args, "default", &opts, None, now).unwrap();
    assert_eq!(
        canonical(r#"{"z":0,"a":{"c":1,"b":{"y":2,"x":3}}}"#),
        r#"&kind=k&args={"a":{"c":1,"b":{"y":2,"x":3}}}"#
    );
    assert_eq!(canonical(r#"{"a":{"c":1}}"#), r#"&kind=k&args={"a":{"c":1}}"#);
    assert_eq!(canonical(r#"{"a":[1,{"b":2}]}"#), r#"&kind=k&args={"a":[1,{"b":2}]}"#);
    // conformance/fixtures/unique_keys.json, selected_args_nested_paths
    assert_eq!(
        key(
            "conformance_selected_args",
            r#"{"z":0,"a":{"c":1,"b":{"y":2,"x":3}}}"#,
            "default",
            &opts,
            None
        ),
        "02e4e276b8a390175fa8a1e82afd99a850b412d2a994c709a07d6aeb8824502d"
    );
}

fn selected_key_string(paths: &[&str], args: &str) -> Result<String, Error> {
    let opts = UniqueOpts {
        by_args: ByArgs::Paths(paths.iter().map(|p| p.to_string()).collect()),
        ..Default::default()
    };
    let now = parse_rfc3339("2026-01-02T03:04:05Z").unwrap();
    riverboat::unique::key_string("k", args, "default", &opts, None, now)
}

#[test]
fn a_backslash_makes_the_next_path_character_literal() {
    let args = r#"{"a":{"b":2},"a.b":1,"a\\":{"b":3}}"#;
    assert_eq!(
        selected_key_string(&[r"a\.b"], args).unwrap(),
        r#"&kind=k&args={"a.b":1}"#
    );
    assert_eq!(
        selected_key_string(&["a.b"], args).unwrap(),
        r#"&kind=k&args={"a":{"b":2}}"#
    );
    // An escaped backslash, then a separator: the key `a\`, then `b` inside it.
    assert_eq!(
        selected_key_string(&[r"a\\.b"], args).unwrap(),
        r#"&kind=k&args={"a\\":{"b":3}}"#
    );
    // A trailing backslash stands for itself.
    assert_eq!(
        selected_key_string(&["a\\"], args).unwrap(),
        r#"&kind=k&args={"a\\":{"b":3}}"#
    );
    // conformance/cases/unique/key_selected_escaped_dot.json
    let opts = UniqueOpts {
        by_args: ByArgs::Paths(vec![r"a\.b".into()]),
        ..Default::default()
    };
    assert_eq!(
        key(
            "conformance_selected_args",
            r#"{"a":{"b":2},"a.b":1}"#,
            "default",
            &opts,
            None
        ),
        "fe09be4b17d04787e2b742453523ddc49c3c556dc220f9c6e105893e67c52cf7"
    );
}

#[test]
fn selected_paths_sort_by_their_joined_components() {
    // Joined: a.c, a.b, a-b. Raw text would put a.c before a\.b; component lists would put a.c first.
    let args = r#"{"a":{"b":2,"c":3},"a.b":1,"a-b":4}"#;
    assert_eq!(
        selected_key_string(&["a.c", r"a\.b", "a-b"], args).unwrap(),
        r#"&kind=k&args={"a-b":4,"a.b":1,"a":{"c":3}}"#
    );
    // Equal joined components: the escaped text decides, so a.b (nested) comes before a\.b.
    assert_eq!(
        selected_key_string(&[r"a\.b", "a.b"], args).unwrap(),
        r#"&kind=k&args={"a":{"b":2},"a.b":1}"#
    );
    // conformance/cases/unique/key_selected_sort_order.json
    let opts = UniqueOpts {
        by_args: ByArgs::Paths(vec!["a.c".into(), r"a\.b".into(), "a-b".into()]),
        ..Default::default()
    };
    assert_eq!(
        key("conformance_selected_args", args, "default", &opts, None),
        "b608b57262cd34200e73020969d1f45ad588250907c976d79e73cbe63315ab92"
    );
}

#[test]
fn path_components_are_object_keys_not_array_indexes() {
    let client = Client::new(Config::default());
    let with_paths = |paths: &[&str]| {
        InsertParams::new("k", json!({"items": [{"id": 1}]})).with_opts(InsertOpts {
            unique: Some(UniqueOpts {
                by_args: ByArgs::Paths(paths.iter().map(|p| p.to_string()).collect()),
                ..Default::default()
            }),
            ..Default::default()
        })
    };
    // Escaping a digit does not make it a key: River would still read an index.
    for bad in ["items.0", "items.0.id", "items.-1", r"items.\0", "a..b", ".a", ""] {
        let err = client.check(&with_paths(&[bad])).unwrap_err();
        assert_eq!(
            field_of(err),
            ("unique_opts.by_args".to_string(), "path".to_string()),
            "{bad:?}"
        );
        assert!(selected_key_string(&[bad], "{}").is_err(), "{bad:?}");
    }
    for good in ["items", "items.id0", "items.0x"] {
        client.check(&with_paths(&[good])).unwrap();
    }
}

#[test]
fn kind_is_1_to_127_characters() {
    let client = Client::new(Config::default());
    client.check(&InsertParams::new("k".repeat(127), json!({}))).unwrap();
    // Characters, not bytes: 127 two-byte characters are fine.
    client.check(&InsertParams::new("é".repeat(127), json!({}))).unwrap();
    for bad in [String::new(), "k".repeat(128)] {
        let err = client.check(&InsertParams::new(bad, json!({}))).unwrap_err();
        assert_eq!(field_of(err), ("kind".to_string(), "length".to_string()));
    }
}

#[test]
fn empty_list_of_paths_is_the_same_as_no_by_args() {
    let now = parse_rfc3339("2026-01-02T03:04:05Z").unwrap();
    let empty = UniqueOpts {
        by_args: ByArgs::Paths(vec![]),
        ..Default::default()
    };
    assert!(!empty.is_unique());
    let by_queue = |by_args: ByArgs| UniqueOpts {
        by_args,
        by_queue: true,
        ..Default::default()
    };
    let s = riverboat::unique::key_string("k", r#"{"a":1}"#, "q", &by_queue(ByArgs::Paths(vec![])), None, now).unwrap();
    assert_eq!(s, "&kind=k&queue=q");
    assert_eq!(
        s,
        riverboat::unique::key_string("k", r#"{"a":1}"#, "q", &by_queue(ByArgs::No), None, now).unwrap()
    );
}

#[test]
fn reserved_metadata_keys_are_top_level_only() {
    let client = Client::new(Config::default());
    let with_metadata = |metadata| {
        InsertParams::new("k", json!({})).with_opts(InsertOpts {
            metadata: Some(metadata),
            ..Default::default()
        })
    };
    let err = client.check(&with_metadata(json!({"river:x": 1}))).unwrap_err();
    assert_eq!(field_of(err), ("metadata".to_string(), "reserved".to_string()));
    client.check(&with_metadata(json!({"nested": {"river:x": 1}}))).unwrap();
    client
        .check(&with_metadata(json!({"river": 1, "x-river:": 2})))
        .unwrap();
}

#[test]
fn period_truncates_from_go_zero_time() {
    let t = parse_rfc3339("2026-01-02T03:04:05Z").unwrap();
    // 7 minutes does not divide the zero-time offset, so epoch truncation would differ.
    let lower = riverboat::unique::period_lower_bound(t, Duration::from_secs(7 * 60));
    assert_eq!(riverboat::unique::format_utc_seconds(lower), "2026-01-02T03:03:00Z");
}

#[test]
fn go_string_and_float_encoding() {
    let v = json!({"s": "<a&b>\u{2028}\u{2029}é\u{1}\u{8}\u{c}\n\r\t\"\\", "f": [1e-7, 1e21, 1.7976931348623157e308, -0.0, 0.1, 1.0, 1e20, 0.000001, 123456789.125], "i": [18446744073709551615u64, -9223372036854775808i64]});
    assert_eq!(
        encode(&v).unwrap(),
        r#"{"s":"\u003ca\u0026b\u003e\u2028\u2029é\u0001\b\f\n\r\t\"\\","f":[1e-7,1e+21,1.7976931348623157e+308,-0,0.1,1,100000000000000000000,0.000001,123456789.125],"i":[18446744073709551615,-9223372036854775808]}"#
    );
    assert_eq!(
        field_of(format_float(f64::NAN).unwrap_err()),
        ("args".to_string(), "json".to_string())
    );
    assert_eq!(format_float(5e-324).unwrap(), "5e-324");
}

#[test]
fn raw_args_are_compacted_and_html_escaped_like_go() {
    assert_eq!(
        compact("{ \"b\" : [1, 2.50, 1E3],\n \"a\":\"<\\u00e9>\" }").unwrap(),
        r#"{"b":[1,2.50,1E3],"a":"\u003c\u00e9\u003e"}"#
    );
    assert_eq!(
        Args::Raw(r#"{"n":123456789012345678901234567890}"#.into())
            .encode()
            .unwrap(),
        r#"{"n":123456789012345678901234567890}"#
    );
}

#[test]
fn timestamps_round_trip_in_utc() {
    let t = parse_rfc3339("2026-01-02T08:34:05.678901+05:30").unwrap();
    assert_eq!(format_rfc3339(t), "2026-01-02T03:04:05.678901Z");
    assert!(parse_rfc3339("2026-01-02 03:04").is_err());
}
