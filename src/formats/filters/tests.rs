//! Parser table and evaluation tests. The expected answers in `CASES` were produced by running
//! containerd's own pkg/filters parser (Go) on these inputs, which were written for this table
//! from the grammar and scanner of containerd's filters package (parser.go, scanner.go).

use super::*;
use std::collections::BTreeMap;

type Expected = Result<&'static [(&'static str, &'static str, &'static [&'static str])], &'static str>;

const CASES: &[(&str, Expected)] = &[
    ("name", Ok(&[("?", "", &["name"])])),
    ("name==foo", Ok(&[("==", "foo", &["name"])])),
    ("name!=foo", Ok(&[("!=", "foo", &["name"])])),
    ("name~=^docker\\.io/", Ok(&[("~=", "^docker\\.io/", &["name"])])),
    ("labels.team==platform", Ok(&[("==", "platform", &["labels", "team"])])),
    ("labels.\"tier\"==gold,name~=base", Ok(&[("==", "gold", &["labels", "tier"]), ("~=", "base", &["name"])])),
    ("labels.\"a.b\"==x", Ok(&[("==", "x", &["labels", "a.b"])])),
    (
        "target.mediatype==application/vnd.docker.distribution.manifest.v2+json",
        Ok(&[("==", "application/vnd.docker.distribution.manifest.v2+json", &["target", "mediatype"])]),
    ),
    ("name~=/edge$/", Ok(&[("~=", "edge$", &["name"])])),
    ("name~=|a|b|", Err("filters: parse error: [name~=|a| >|b|< |]: unexpected input: b")),
    ("name~=|a\\|b|", Ok(&[("~=", "a|b", &["name"])])),
    ("name==\"with space\"", Ok(&[("==", "with space", &["name"])])),
    ("  name==x", Ok(&[("==", "x", &["name"])])),
    ("name ==x", Ok(&[("==", "x", &["name"])])),
    ("name== x", Ok(&[("==", "x", &["name"])])),
    ("1abc==x", Ok(&[("==", "x", &["1abc"])])),
    ("a.b.c", Ok(&[("?", "", &["a", "b", "c"])])),
    ("a,b", Ok(&[("?", "", &["a"]), ("?", "", &["b"])])),
    ("labels.\"\\u00e9\"==x", Ok(&[("==", "x", &["labels", "é"])])),
    ("name==x,", Err("filters: parse error: [name==x,]: expected field or quoted")),
    ("name==x ", Err("filters: parse error: [name==x >| |< ]: unexpected input:  ")),
    ("name==x ,y", Err("filters: parse error: [name==x >| |< ,y]: unexpected input:  ")),
    ("name = x", Err("filters: parse error: [name  >|=|<  x]: unsupported operator \"=\"")),
    ("name=x", Err("filters: parse error: [name >|=|< x]: unsupported operator \"=\"")),
    ("name===x", Err("filters: parse error: [name >|=|< ==x]: unsupported operator \"===\"")),
    ("name=~x", Err("filters: parse error: [name >|=|< ~x]: unsupported operator \"=~\"")),
    ("name<x", Err("filters: parse error: [name >|<|< x]: expected an operator (\"==\"|\"!=\"|\"~=\")")),
    ("name==", Err("filters: parse error: [name==]: expected value or quoted")),
    ("name==,x", Err("filters: parse error: [name== >|,|< x]: expected value or quoted")),
    ("==x", Err("filters: parse error: [ >|=|< =x]: expected field or quoted")),
    (".name", Err("filters: parse error: [ >|.|< name]: expected field or quoted")),
    ("name.", Err("filters: parse error: [name.]: expected field or quoted")),
    ("name==\"abc", Err("filters: parse error: [name== >|\"|< abc]: quoted literal not terminated")),
    ("name==\"a\\qb\"", Err("filters: parse error: [name== >|\"|< a\\qb\"]: illegal escape sequence")),
    ("name==/abc/", Err("filters: parse error: [name== >|/|< abc/]: invalid quote encountered")),
    ("/name/==x", Err("filters: parse error: [ >|/|< name/==x]: invalid quote encountered")),
    ("name~=/a\"b/", Ok(&[("~=", "a\"b", &["name"])])),
    ("name~=/a\\\"b/", Err("filters: parse error: [name~= >|/|< a\\\"b/]: illegal escape sequence")),
    ("name==\"\\777\"", Err("filters: parse error: [name== >|\"|< \\777\"]: unquoting failed: quote syntax error")),
    ("name==foo bar", Err("filters: parse error: [name==foo >| |< bar]: unexpected input:  ")),
    ("name=='x'", Ok(&[("==", "'x'", &["name"])])),
    ("name'x", Err("filters: parse error: [name >|'|< x]: expected an operator (\"==\"|\"!=\"|\"~=\")")),
    ("name==a\u{0}", Err("filters: parse error: [name==a >|\u{0}|< ]: unexpected input: \u{fffd}")),
    (
        "name==x\u{fffd}",
        Err("filters: parse error: [name==x >|\u{fffd}|< \u{fffd}\u{fffd}]: unexpected input: \u{fffd}"),
    ),
    ("name~=[", Ok(&[("~=", "[", &["name"])])),
    ("é==x", Err("filters: parse error: [ >|\u{fffd}|< \u{fffd}==x]: expected field or quoted")),
    ("name==é", Ok(&[("==", "é", &["name"])])),
    (
        "labels.a==b,labels.c!=d,name",
        Ok(&[("==", "b", &["labels", "a"]), ("!=", "d", &["labels", "c"]), ("?", "", &["name"])]),
    ),
    (" ", Err("filters: parse error: [ ]: expected field or quoted")),
    ("name==x,,y", Err("filters: parse error: [name==x, >|,|< y]: expected field or quoted")),
    ("name!x", Err("filters: parse error: [name >|!|< x]: unsupported operator \"!\"")),
    ("name~=", Err("filters: parse error: [name~=]: expected value or quoted")),
    ("name==a.b", Ok(&[("==", "a.b", &["name"])])),
    ("name==.b", Err("filters: parse error: [name== >|.|< b]: expected value or quoted")),
    ("name==\"a\".b", Err("filters: parse error: [name==\"a\" >|.|< b]: unexpected input: .")),
    ("\"a\\tb\"==x", Ok(&[("==", "x", &["a\u{9}b"])])),
    ("éa", Err("filters: parse error: [ >|\u{fffd}|< \u{fffd}a]: expected field or quoted")),
    ("name==\"\\x41\\101\"", Ok(&[("==", "AA", &["name"])])),
    ("name~=/\\d+/", Err("filters: parse error: [name~= >|/|< \\d+/]: illegal escape sequence")),
    ("name~=|\\d+|", Err("filters: parse error: [name~= >|||< \\d+|]: illegal escape sequence")),
    ("name~=\"\\\\d+\"", Ok(&[("~=", "\\d+", &["name"])])),
    ("name~=\\d+", Ok(&[("~=", "\\d+", &["name"])])),
    ("name~=a|b", Ok(&[("~=", "a|b", &["name"])])),
    ("name~=/a/,labels.x", Ok(&[("~=", "a", &["name"]), ("?", "", &["labels", "x"])])),
    (
        "labels.\"a\"\"b\"",
        Err("filters: parse error: [labels.\"a\" >|\"|< b\"]: expected an operator (\"==\"|\"!=\"|\"~=\")"),
    ),
    ("name==x\u{9}y", Err("filters: parse error: [name==x >|\u{9}|< y]: unexpected input: \u{9}")),
    ("a\u{9}b", Err("filters: parse error: [a\u{9} >|b|< ]: expected an operator (\"==\"|\"!=\"|\"~=\")")),
    ("name ", Err("filters: parse error: [name ]: expected an operator (\"==\"|\"!=\"|\"~=\")")),
    ("name,", Err("filters: parse error: [name,]: expected field or quoted")),
    ("name,,", Err("filters: parse error: [name, >|,|< ]: expected field or quoted")),
    ("_==x", Ok(&[("==", "x", &["_"])])),
    ("a_b.c_d!=e", Ok(&[("!=", "e", &["a_b", "c_d"])])),
    ("name==\"\"", Ok(&[("==", "", &["name"])])),
    ("name==\"\\U0001F600\"", Ok(&[("==", "😀", &["name"])])),
    ("name==\"\\x4\"", Err("filters: parse error: [name== >|\"|< \\x4\"]: illegal numeric escape sequence")),
    ("name==a/b|c\"d", Ok(&[("==", "a/b|c\"d", &["name"])])),
];

fn op_str(op: Operator) -> &'static str {
    match op {
        Operator::Present => "?",
        Operator::Equal => "==",
        Operator::NotEqual => "!=",
        Operator::Matches => "~=",
    }
}

#[test]
fn parser_table_matches_containerd() {
    for (input, expected) in CASES {
        let got = parse(input);
        match (expected, got) {
            (Ok(want), Ok(Filter::All(sels))) => {
                let got: Vec<_> = sels
                    .iter()
                    .map(|s| {
                        (op_str(s.operator()), String::from_utf8_lossy(s.value()).into_owned(), s.fieldpath().to_vec())
                    })
                    .collect();
                let want: Vec<_> = want
                    .iter()
                    .map(|(op, v, p)| (*op, v.to_string(), p.iter().map(|x| x.to_string()).collect::<Vec<_>>()))
                    .collect();
                assert_eq!(got, want, "input {input:?}");
            }
            (Err(want), Err(e)) => {
                assert_eq!(e.message, *want, "input {input:?}");
                assert_eq!(e.code, crate::ErrorCode::InvalidArgument);
            }
            (want, got) => panic!("input {input:?}: want {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn empty_and_parse_all() {
    assert!(matches!(parse("").unwrap(), Filter::Always));
    assert!(matches!(parse_all::<&str>(&[]).unwrap(), Filter::Always));
    let e = parse_all(&["name==a", "name="]).unwrap_err();
    assert_eq!(e.message, "filters: parse error: [name >|=|< ]: unsupported operator \"=\": invalid argument");
    // A pattern that does not compile is an error naming it (containerd matches nothing).
    let e = parse_all(&["name~=("]).unwrap_err();
    assert_eq!(e.code, crate::ErrorCode::InvalidArgument);
    assert!(e.message.starts_with("filters: [name~=(]: invalid regular expression \"(\" after ~=: "), "{}", e.message);
    assert!(
        e.message.ends_with(": invalid argument") && !e.message.contains("invalid argument: invalid"),
        "{}",
        e.message
    );
    assert!(parse_all(&["name~=^a(b|c)$"]).is_ok());
}

/// A map-based object: absent keys are absent fields.
struct MapObj(BTreeMap<String, String>);

impl Adaptor for MapObj {
    fn field(&self, path: &[String]) -> Option<String> {
        self.0.get(&path.join(".")).cloned()
    }
}

fn obj(pairs: &[(&str, &str)]) -> MapObj {
    MapObj(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

fn m(filters: &[&str], o: &MapObj) -> bool {
    parse_all(filters).unwrap().matches(o)
}

#[test]
fn evaluation_semantics() {
    let o = obj(&[("name", "docker.io/library/alpine:3"), ("labels.a.b", "x"), ("labels.empty", "")]);
    // presence
    assert!(m(&["name"], &o));
    assert!(m(&["labels.empty"], &o));
    assert!(!m(&["labels.missing"], &o));
    // == needs presence; != matches absent fields (absent reads as "")
    assert!(m(&["labels.\"a.b\"==x"], &o));
    assert!(m(&["labels.a.b==x"], &o));
    assert!(!m(&["labels.missing==\"\""], &o));
    assert!(m(&["labels.missing!=x"], &o));
    assert!(!m(&["labels.missing!=\"\""], &o));
    assert!(!m(&["name!=docker.io/library/alpine:3"], &o));
    // ~= is an unanchored search; absent fields are matched as ""
    assert!(m(&["name~=alpine"], &o));
    assert!(m(&["name~=/:3$/"], &o));
    assert!(!m(&["name~=^alpine"], &o));
    assert!(m(&["labels.missing~=^$"], &o));
    // Go's \d is ASCII only, like regex-lite's
    assert!(m(&["name~=\\d"], &o));
    assert!(!m(&["name~=\\d"], &obj(&[("name", "\u{663}")])));
    // a bad regex never matches, even with !=-like intent
    let bad = parse("name~=[").unwrap();
    if let Filter::All(s) = &bad {
        assert!(!s[0].regex_compiled());
    }
    assert!(!bad.matches(&o));
    // comma = AND, several strings = OR
    assert!(!m(&["name~=alpine,labels.missing"], &o));
    assert!(m(&["labels.missing", "name~=alpine"], &o));
    assert!(m(&[""], &o));
    // non-UTF-8 values from \x escapes never equal a string field but differ from it
    assert!(!m(&[r#"name=="\xff""#], &o));
    assert!(m(&[r#"name!="\xff""#], &o));
}

#[test]
fn patterns_go_refuses_or_reads_literally_and_oversized_ones() {
    // Go: a count over 1000 is "invalid repeat count"; `{02}` is literal text.
    let err = parse_all(&["name~=x{1001}"]).unwrap_err();
    assert!(err.message.contains("invalid repeat count: `{1001}`"), "{}", err.message);
    assert!(parse_all(&["name~=^v{02}$"]).is_ok());
    assert!(compile("^v{02}$").unwrap().is_match("v{02}"));
    // Nested counts Go would take, but whose machine is over the limit: refused, quickly.
    let why = compile("((a{1000}){1000})").unwrap_err();
    assert!(why.contains("size limit"), "{why}");
    assert!(compile("(a{1000}){10}").is_ok());
}
