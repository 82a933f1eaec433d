//! Reference parsing against docker/distribution v2.8.2's own test tables (what Docker 20.10
//! parses with), kept as data in `tests/data/reference-v2.8.tsv`: `reference.Parse` and
//! `ParseNormalizedNamed`, their results field by field and their error messages.

use imagestore::formats::reference::Reference;

fn rows() -> Vec<Vec<String>> {
    include_str!("data/reference-v2.8.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn the_upstream_tables_parse_as_docker_20_10_parses_them() {
    let rows = rows();
    assert!(rows.len() >= 100, "{} rows", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        let (kind, input, outcome) = (row[0].as_str(), row[1].as_str(), row[2].as_str());
        let parsed = match kind {
            "parse" => Reference::parse_reference(input),
            "normalized" => Reference::parse_normalized_named(input),
            other => panic!("unknown row kind {other}"),
        };
        let field = |i: usize| row.get(i).map(String::as_str).unwrap_or("");
        let problem = match (outcome, parsed) {
            ("ok", Err(e)) => Some(format!("refused: {e}")),
            ("ok", Ok(r)) if kind == "parse" => {
                let got = [
                    r.name(),
                    r.domain().to_string(),
                    r.tag().unwrap_or("").to_string(),
                    r.digest().map(|d| d.to_string()).unwrap_or_default(),
                ];
                let want = [field(3), field(4), field(5), field(6)];
                (got.iter().map(String::as_str).ne(want.iter().copied())).then(|| format!("got {got:?}, want {want:?}"))
            }
            ("ok", Ok(r)) => {
                let got = [r.to_string(), r.familiar_string(), r.domain().to_string(), r.path().to_string()];
                let want = [field(3), field(4), field(5), field(6)];
                let checked = !want[0].is_empty();
                (checked && got.iter().map(String::as_str).ne(want.iter().copied()))
                    .then(|| format!("got {got:?}, want {want:?}"))
            }
            ("error", Ok(r)) => Some(format!("accepted as {r}")),
            ("error", Err(e)) => {
                let bad_code = e.code != imagestore::ErrorCode::InvalidArgument;
                (bad_code || !e.message.contains(field(3))).then(|| format!("error {e:?}, want {:?}", field(3)))
            }
            (other, _) => panic!("unknown outcome {other}"),
        };
        if let Some(p) = problem {
            failures.push(format!("{kind} {input:?}: {p}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} rows differ:\n{}", failures.len(), rows.len(), failures.join("\n"));
}
