//! The numbers docker/go-units prints, which the docker CLI and ctr use for every size and age
//! they show: `HumanSize` / `HumanSizeWithPrecision` (decimal units, Go's `%g`) and
//! `HumanDuration` (`3 weeks`, `About an hour`). Written once here; the CLI and the page get
//! them through the bindings (`humanSize`, `humanDuration`, `humanSizes`).

/// go-units `HumanSize`: 4 significant digits, decimal units, no space (`1.051MB`, `896B`;
/// what `ctr content ls` and `docker images --format '{{.VirtualSize}}'` print).
pub fn human_size(bytes: i64) -> String {
    human_size_with_precision(bytes, 4)
}

/// go-units `HumanSizeWithPrecision`: `precision` significant digits (the docker CLI's image
/// sizes use 3: `1.98MB`, `0B`).
pub fn human_size_with_precision(bytes: i64, precision: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let (value, unit) = scale(bytes as f64, 1000.0, &UNITS);
    format!("{}{unit}", go_format_g(value, precision.max(1)))
}

/// go-units `getSizeAndUnit`: `size` divided by `base` until it is below it (or the units end).
pub(crate) fn scale<'a>(mut size: f64, base: f64, units: &[&'a str]) -> (f64, &'a str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// Go's `%.{prec}g`: `prec` significant digits, trailing zeros removed, exponent form only for
/// very small or large magnitudes.
fn go_format_g(v: f64, prec: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let sci = format!("{:.*e}", prec - 1, v);
    let (mantissa, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    if exp < -4 || exp >= prec as i32 {
        let m = trim_fraction(mantissa);
        return format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let decimals = (prec as i32 - 1 - exp).max(0) as usize;
    trim_fraction(&format!("{v:.decimals$}")).to_string()
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_HOUR: i64 = 3600 * NANOS_PER_SECOND;

/// What go-units `HumanDuration` says of a duration, before it is made text: a unit and its
/// count. Two durations print the same exactly when their readings are equal, which lets
/// [`same_reading_seconds`] find how long a printed cell stays true without formatting it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading {
    UnderASecond,
    Seconds(i64),
    AboutAMinute,
    Minutes(i64),
    AboutAnHour,
    Hours(i64),
    Days(i64),
    Weeks(i64),
    Months(i64),
    Years(i64),
}

/// The [`Reading`] of a Go `time.Duration` (nanoseconds). Seconds and minutes are cut, hours
/// rounded (half up), days, weeks, months (30 days) and years (365 days) cut from the hours.
fn reading(nanos: i64) -> Reading {
    let seconds = nanos / NANOS_PER_SECOND;
    let minutes = nanos / (60 * NANOS_PER_SECOND);
    // time.Duration.Hours(): whole hours plus the rest as a fraction.
    let hours_f = (nanos / NANOS_PER_HOUR) as f64 + (nanos % NANOS_PER_HOUR) as f64 / NANOS_PER_HOUR as f64;
    let hours = (hours_f + 0.5) as i64;
    match () {
        _ if seconds < 1 => Reading::UnderASecond,
        _ if seconds < 60 => Reading::Seconds(seconds),
        _ if minutes == 1 => Reading::AboutAMinute,
        _ if minutes < 60 => Reading::Minutes(minutes),
        _ if hours == 1 => Reading::AboutAnHour,
        _ if hours < 48 => Reading::Hours(hours),
        _ if hours < 24 * 7 * 2 => Reading::Days(hours / 24),
        _ if hours < 24 * 30 * 2 => Reading::Weeks(hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => Reading::Months(hours / 24 / 30),
        _ => Reading::Years(hours_f as i64 / 24 / 365),
    }
}

/// go-units `HumanDuration` of a Go `time.Duration` (nanoseconds): what the docker CLI prints
/// before "ago" (CREATED) and ctr as AGE.
pub fn human_duration(nanos: i64) -> String {
    match reading(nanos) {
        Reading::UnderASecond => "Less than a second".into(),
        Reading::Seconds(1) => "1 second".into(),
        Reading::Seconds(n) => format!("{n} seconds"),
        Reading::AboutAMinute => "About a minute".into(),
        Reading::Minutes(n) => format!("{n} minutes"),
        Reading::AboutAnHour => "About an hour".into(),
        Reading::Hours(n) => format!("{n} hours"),
        Reading::Days(n) => format!("{n} days"),
        Reading::Weeks(n) => format!("{n} weeks"),
        Reading::Months(n) => format!("{n} months"),
        Reading::Years(n) => format!("{n} years"),
    }
}

/// The whole seconds `[first, last]` around `seconds` that [`human_duration`] prints as it prints
/// `seconds` (`first` is `i64::MIN` for "Less than a second"). Every boundary of the rule falls
/// on a whole second, and each reading holds over one run of seconds, so a printed cell of a
/// duration that is `seconds` and a fraction stays true while the duration is in
/// `[first, last + 1)`. Found by galloping and bisecting over the rule itself.
pub fn same_reading_seconds(seconds: i64) -> (i64, i64) {
    let at = |s: i64| reading(s.saturating_mul(NANOS_PER_SECOND));
    let here = at(seconds);
    if here == Reading::UnderASecond {
        return (i64::MIN, 0);
    }
    // The last second reading the same when going `dir` (+1 or -1) from `seconds`.
    let edge = |dir: i64| {
        let (mut inside, mut step) = (seconds, 1i64);
        let mut outside = loop {
            let probe = seconds.saturating_add(dir * step);
            if at(probe) != here {
                break probe;
            }
            inside = probe;
            step = step.saturating_mul(2);
        };
        while (outside - inside).abs() > 1 {
            let mid = inside + (outside - inside) / 2;
            if at(mid) == here {
                inside = mid;
            } else {
                outside = mid;
            }
        }
        inside
    };
    (edge(-1), edge(1))
}

/// The span of clock times `[from, until)` (Unix seconds) around `now` in which every
/// `<duration> ago` cell of the creation times `created` (Unix seconds) reads as it reads at
/// `now`: a table printed at `now` is the table of any moment in that span. An empty list is
/// true forever.
pub fn created_since_span(created: &[f64], now: f64) -> (f64, f64) {
    let (mut from, mut until) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut last: Option<f64> = None;
    for &c in created {
        // Rows of one build often share a creation time: each distinct one is looked at once.
        if last == Some(c) {
            continue;
        }
        last = Some(c);
        let nanos = ((now - c) * NANOS_PER_SECOND as f64).round() as i64;
        let (first, end) = same_reading_seconds(nanos.div_euclid(NANOS_PER_SECOND));
        if first != i64::MIN {
            from = from.max(c + first as f64);
        }
        until = until.min(c + end as f64 + 1.0);
    }
    (from, until)
}

/// [`human_duration`] of `seconds` (a JS number: fractions of a second count, as the clock
/// gives them); not-a-number counts as zero.
pub fn human_duration_of_seconds(seconds: f64) -> String {
    human_duration((seconds * NANOS_PER_SECOND as f64).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_go_prints_them() {
        assert_eq!(human_size(1_050_624), "1.051MB");
        assert_eq!(human_size(896), "896B");
        assert_eq!(human_size(2560), "2.56kB");
        assert_eq!(human_size(17_920), "17.92kB");
        // The docker CLI's precision: Go's %.3g, exponent form and half-to-even included.
        assert_eq!(human_size_with_precision(1_982_293, 3), "1.98MB");
        assert_eq!(human_size_with_precision(0, 3), "0B");
        assert_eq!(human_size_with_precision(999_999, 3), "1e+03kB");
        assert_eq!(human_size_with_precision(1_125_000, 3), "1.12MB");
        assert_eq!(human_size_with_precision(74_800_000, 3), "74.8MB");
        assert_eq!(human_size(1_996_800), "1.997MB");
        assert_eq!(human_size(999_999), "1000kB");
        assert_eq!(go_format_g(12345.0, 4), "1.234e+04");
    }

    #[test]
    fn durations_at_each_boundary() {
        let s = |secs: i64| human_duration(secs * NANOS_PER_SECOND);
        assert_eq!(human_duration(999_999_999), "Less than a second");
        assert_eq!(human_duration(-5 * NANOS_PER_SECOND), "Less than a second");
        assert_eq!(s(1), "1 second");
        assert_eq!(s(59), "59 seconds");
        assert_eq!(s(60), "About a minute");
        assert_eq!(s(119), "About a minute");
        assert_eq!(s(120), "2 minutes");
        assert_eq!(s(3599), "59 minutes");
        // Hours are rounded: 89m59s is one hour, 90m two.
        assert_eq!(s(3600), "About an hour");
        assert_eq!(s(5399), "About an hour");
        assert_eq!(s(5400), "2 hours");
        assert_eq!(s(47 * 3600 + 1799), "47 hours");
        assert_eq!(s(47 * 3600 + 1800), "2 days");
        assert_eq!(s(13 * 86400 + 43199), "13 days");
        assert_eq!(s(14 * 86400), "2 weeks");
        assert_eq!(s(59 * 86400), "8 weeks");
        assert_eq!(s(60 * 86400), "2 months");
        assert_eq!(s(729 * 86400), "24 months");
        assert_eq!(s(730 * 86400), "2 years");
        assert_eq!(human_duration_of_seconds(90.0), "About a minute");
        assert_eq!(human_duration_of_seconds(0.999_999), "Less than a second");
    }

    #[test]
    fn same_reading_spans_end_where_the_text_changes() {
        let text = |secs: i64| human_duration(secs * NANOS_PER_SECOND);
        // Spans found by the search, checked against the printed text at and beyond both ends.
        for secs in [
            1, 2, 59, 60, 61, 119, 120, 3599, 3600, 5399, 5400, 86_400, 172_799, 1_209_600, 5_183_999, 63_072_000,
            99_999_999,
        ] {
            let (first, last) = same_reading_seconds(secs);
            assert!(first <= secs && secs <= last, "{secs}: {first}..{last}");
            assert_eq!(text(first), text(secs));
            assert_eq!(text(last), text(secs));
            assert_ne!(text(first - 1), text(secs), "{secs}: {first} is not the first");
            assert_ne!(text(last + 1), text(secs), "{secs}: {last} is not the last");
        }
        assert_eq!(same_reading_seconds(0), (i64::MIN, 0));
        assert_eq!(same_reading_seconds(-7), (i64::MIN, 0));
        assert_eq!(same_reading_seconds(60), (60, 119));
        assert_eq!(same_reading_seconds(3600), (3600, 5399));
        // 47.5 hours round to 48: "2 days" starts there.
        assert_eq!(same_reading_seconds(47 * 3600 + 1800).0, 47 * 3600 + 1800);
    }

    #[test]
    fn created_since_span_is_where_every_cell_stays_the_same() {
        let now = 1_700_000_000.25;
        // Three weeks ago, five hours ago (twice), one hour twenty ago.
        let created = [now - 21.0 * 86_400.0, now - 5.0 * 3600.0 - 10.0, now - 5.0 * 3600.0 - 10.0, now - 4800.0];
        let (from, until) = created_since_span(&created, now);
        assert!(from <= now && now < until);
        let cells = |at: f64| created.iter().map(|c| human_duration_of_seconds(at - c)).collect::<Vec<_>>();
        let here = cells(now);
        assert_eq!(cells(from), here);
        assert_eq!(cells(until - 0.001), here);
        assert_ne!(cells(until), here);
        assert_ne!(cells(from - 0.001), here);
        // "About an hour" at 80 min ends at 90 min: 600 s after `now` (the nearest edge).
        assert_eq!(until, now - 4800.0 + 5400.0);
        assert_eq!(created_since_span(&[], now), (f64::NEG_INFINITY, f64::INFINITY));
    }
}
