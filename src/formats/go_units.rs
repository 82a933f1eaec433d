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

/// go-units `HumanDuration` of a Go `time.Duration` (nanoseconds): what the docker CLI prints
/// before "ago" (CREATED) and ctr as AGE. Seconds and minutes are cut, hours rounded (half
/// up), days, weeks, months (30 days) and years (365 days) cut from the hours.
pub fn human_duration(nanos: i64) -> String {
    let seconds = nanos / NANOS_PER_SECOND;
    let minutes = nanos / (60 * NANOS_PER_SECOND);
    // time.Duration.Hours(): whole hours plus the rest as a fraction.
    let hours_f = (nanos / NANOS_PER_HOUR) as f64 + (nanos % NANOS_PER_HOUR) as f64 / NANOS_PER_HOUR as f64;
    let hours = (hours_f + 0.5) as i64;
    match () {
        _ if seconds < 1 => "Less than a second".into(),
        _ if seconds == 1 => "1 second".into(),
        _ if seconds < 60 => format!("{seconds} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", hours_f as i64 / 24 / 365),
    }
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
}
