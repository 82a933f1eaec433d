//! Image-list comparison shared by the native and the wasm tests (pure: compiles for both).

use serde_json::Value;

/// Compares image lists field by field. dockerd sorts by `Created` (seconds) with an
/// unstable sort over a Go map's order, so within one second its order is arbitrary: runs of
/// equal `Created` are compared as sets (sorted by Id), the order of the runs exactly.
pub fn assert_same_list(what: &str, got: &Value, want: &Value) {
    let runs = |v: &Value| -> Vec<(i64, Vec<Value>)> {
        let mut out: Vec<(i64, Vec<Value>)> = Vec::new();
        for row in v.as_array().unwrap_or_else(|| panic!("{what}: not a list: {v}")) {
            let created = row["Created"].as_i64().unwrap();
            match out.last_mut() {
                Some((c, rows)) if *c == created => rows.push(row.clone()),
                _ => out.push((created, vec![row.clone()])),
            }
        }
        for (_, rows) in out.iter_mut() {
            rows.sort_by(|a, b| a["Id"].as_str().cmp(&b["Id"].as_str()));
        }
        out
    };
    let (g, w) = (runs(got), runs(want));
    assert_eq!(
        g.len(),
        w.len(),
        "{what}: {} rows vs {} expected\n got: {got}\nwant: {want}",
        got.as_array().unwrap().len(),
        want.as_array().unwrap().len()
    );
    for ((gc, grows), (wc, wrows)) in g.iter().zip(&w) {
        assert_eq!(gc, wc, "{what}: Created order differs");
        assert_eq!(grows.len(), wrows.len(), "{what}: rows created at {gc}");
        for (gr, wr) in grows.iter().zip(wrows) {
            assert_eq!(gr, wr, "{what}: row differs");
        }
    }
}
