//! Go's `time.Time`, the one time type of the crate: strict RFC 3339 parsing (what
//! `time.Parse(time.RFC3339Nano, …)` and `json.Unmarshal` into a `time.Time` accept), formatting
//! as `time.RFC3339Nano`, Unix seconds, Go's zero time `0001-01-01T00:00:00Z`, and Go's
//! `Duration.String`. The binary form containerd stores (`MarshalBinary`) is in
//! [`crate::formats::gobinary`].
//!
//! A time keeps its nanoseconds and its zone, so formatting it again gives the text Go would
//! print (Go formats a time in the zone it was parsed or decoded with). Serde reads and writes
//! the RFC3339Nano text.

use crate::error::{Error, Result};
use std::fmt;

/// Seconds from 0001-01-01T00:00:00Z (Go's internal epoch: its zero time, and what
/// `MarshalBinary` counts from) to 1970-01-01T00:00:00Z: Go's `unixToInternal`.
pub(crate) const UNIX_TO_INTERNAL: i64 = (1969 * 365 + 1969 / 4 - 1969 / 100 + 1969 / 400) * 86400;

/// Go's zero time in Unix seconds.
const ZERO_UNIX: i64 = -UNIX_TO_INTERNAL;

/// The zone of a time, as far as Go's encodings tell zones apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Zone {
    /// Go's UTC location (`Z` in text; offset −1 minute in `MarshalBinary`).
    Utc,
    /// A fixed offset in seconds east of UTC. `Fixed(0)` prints as `Z` like UTC, but
    /// `MarshalBinary` keeps the two apart.
    Fixed(i32),
}

/// An instant with nanosecond precision and its zone. Ordered by instant first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoTime {
    /// Seconds since the Unix epoch (UTC).
    unix: i64,
    /// 0..1_000_000_000.
    nanos: u32,
    zone: Zone,
}

impl Default for GoTime {
    /// Go's zero value.
    fn default() -> Self {
        GoTime::ZERO
    }
}

impl GoTime {
    /// Go's zero `time.Time` (`0001-01-01T00:00:00Z`): what dockerd shows for an unset time and
    /// containerd reports for a missing timestamp.
    pub const ZERO: GoTime = GoTime { unix: ZERO_UNIX, nanos: 0, zone: Zone::Utc };

    /// A UTC time from Unix seconds and nanoseconds (nanos ≥ 1e9 carry into the seconds).
    pub fn from_unix(secs: i64, nanos: u32) -> GoTime {
        GoTime { unix: secs + i64::from(nanos / 1_000_000_000), nanos: nanos % 1_000_000_000, zone: Zone::Utc }
    }

    /// A UTC time from milliseconds since the Unix epoch (what a browser clock gives).
    pub fn from_unix_millis(millis: u64) -> GoTime {
        GoTime::from_unix((millis / 1000) as i64, (millis % 1000) as u32 * 1_000_000)
    }

    /// The same instant in another zone.
    pub fn in_zone(self, zone: Zone) -> GoTime {
        GoTime { zone, ..self }
    }

    /// Parses RFC 3339 text strictly, as Go does: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)`, an
    /// uppercase `T` and `Z`, day checked against the month, fraction of 1-9 digits. `Z` gives
    /// the UTC zone, `±hh:mm` a fixed one.
    pub fn parse_rfc3339(s: &str) -> Result<GoTime> {
        parse(s.as_bytes()).ok_or_else(|| Error::invalid(format!("invalid RFC 3339 time {s:?}")))
    }

    /// Seconds since the Unix epoch (Go's `t.Unix()`), as `Created` in image summaries.
    pub fn unix(&self) -> i64 {
        self.unix
    }
    /// Nanoseconds within the second.
    pub fn nanos(&self) -> u32 {
        self.nanos
    }
    /// Nanoseconds since the Unix epoch (i128: Go's range does not fit in i64).
    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.unix) * 1_000_000_000 + i128::from(self.nanos)
    }
    pub fn zone(&self) -> Zone {
        self.zone
    }
    /// Offset east of UTC in seconds (0 for UTC).
    pub fn offset_seconds(&self) -> i32 {
        match self.zone {
            Zone::Utc => 0,
            Zone::Fixed(offset) => offset,
        }
    }
    /// Go's `t.IsZero()`.
    pub fn is_zero(&self) -> bool {
        self.unix == ZERO_UNIX && self.nanos == 0
    }

    /// `secs` later (earlier if negative), in the same zone.
    pub fn plus_secs(&self, secs: i64) -> GoTime {
        GoTime { unix: self.unix + secs, ..*self }
    }

    /// Whole milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub fn millis_since(&self, earlier: &GoTime) -> u64 {
        let ms = |t: &GoTime| i128::from(t.unix) * 1000 + i128::from(t.nanos / 1_000_000);
        (ms(self) - ms(earlier)).max(0) as u64
    }

    /// The calendar date (year, month, day) in the time's own zone.
    pub fn date(&self) -> (i64, i64, i64) {
        civil_from_days(self.local_secs().div_euclid(86_400))
    }

    fn local_secs(&self) -> i64 {
        self.unix + i64::from(self.offset_seconds())
    }

    /// Go's `t.Format(time.RFC3339Nano)`: fraction with trailing zeros trimmed (none if zero),
    /// `Z` for a zero offset, `±hh:mm` otherwise.
    pub fn to_rfc3339_nano(&self) -> String {
        let secs_of_day = self.local_secs().rem_euclid(86_400);
        let (y, m, d) = self.date();
        let mut out = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day / 60 % 60,
            secs_of_day % 60
        );
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        let offset = self.offset_seconds();
        if offset == 0 {
            out.push('Z');
        } else {
            let sign = if offset < 0 { '-' } else { '+' };
            let abs = offset.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60));
        }
        out
    }
}

/// Go's `time.Duration.String()` for a whole number of milliseconds (`0s`, `250ms`, `1.5s`,
/// `2m3.004s`, `1h0m0s`).
pub fn duration_string_millis(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let secs = if frac == 0 { format!("{s}s") } else { format!("{s}.{}s", format!("{frac:03}").trim_end_matches('0')) };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

impl fmt::Display for GoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_nano())
    }
}
impl fmt::Debug for GoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GoTime({})", self.to_rfc3339_nano())
    }
}
impl std::str::FromStr for GoTime {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        GoTime::parse_rfc3339(s)
    }
}

impl serde::Serialize for GoTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339_nano())
    }
}
impl<'de> serde::Deserialize<'de> for GoTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        GoTime::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

fn parse(b: &[u8]) -> Option<GoTime> {
    // Fixed part: "YYYY-MM-DDTHH:MM:SS" (19 bytes).
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b[i] == b'.' {
        let start = i + 1;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            return None;
        }
        // Go keeps nanosecond precision and drops further digits.
        for k in 0..9 {
            let digit = b.get(start + k).filter(|c| start + k < end && c.is_ascii_digit()).map_or(0, |c| c - b'0');
            nanos = nanos * 10 + u32::from(digit);
        }
        i = end;
    }
    let offset = match &b[i..] {
        [b'Z'] => None,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let (oh, om) = (i32::from((h1 - b'0') * 10 + (h2 - b'0')), i32::from((m1 - b'0') * 10 + (m2 - b'0')));
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            Some(if *sign == b'-' { -off } else { off })
        }
        _ => return None,
    };
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec;
    Some(GoTime { unix: local - i64::from(offset.unwrap_or(0)), nanos, zone: offset.map_or(Zone::Utc, Zone::Fixed) })
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_docker_timestamps() {
        for s in [
            "2026-11-23T13:52:39.182823553Z",
            "2026-11-23T13:52:40.20992506Z",
            "2016-10-07T21:03:58.16783626Z",
            "2026-11-23T13:52:40Z",
            "2020-02-29T23:59:59.5+01:00",
            "1969-12-31T23:59:59.000000001-07:30",
            "0001-01-01T00:00:00Z",
        ] {
            assert_eq!(GoTime::parse_rfc3339(s).unwrap().to_rfc3339_nano(), s);
        }
    }

    #[test]
    fn trims_fraction_and_keeps_offset() {
        let t = GoTime::parse_rfc3339("2026-11-23T14:52:39.500000000+01:00").unwrap();
        assert_eq!(t.to_rfc3339_nano(), "2026-11-23T14:52:39.5+01:00");
        assert_eq!(t.unix(), GoTime::parse_rfc3339("2026-11-23T13:52:39Z").unwrap().unix());
        assert_eq!(t.nanos(), 500_000_000);
        assert_eq!(t.offset_seconds(), 3600);
        // Digits past nanoseconds are dropped, as Go does.
        let long = GoTime::parse_rfc3339("2026-11-23T13:52:39.1234567891Z").unwrap();
        assert_eq!(long.nanos(), 123_456_789);
    }

    #[test]
    fn unix_seconds_match_go() {
        assert_eq!(GoTime::parse_rfc3339("2026-11-23T13:52:39.182823553Z").unwrap().unix(), 1_795_441_959);
        assert_eq!(GoTime::parse_rfc3339("1970-01-01T00:00:00Z").unwrap().unix(), 0);
        assert_eq!(GoTime::ZERO.unix(), -62_135_596_800);
        assert!(GoTime::ZERO.is_zero());
        assert_eq!(GoTime::ZERO.to_rfc3339_nano(), "0001-01-01T00:00:00Z");
        assert_eq!(GoTime::from_unix(0, 1_500_000_000).to_rfc3339_nano(), "1970-01-01T00:00:01.5Z");
        // 2026-11-23T13:52:23.992038797Z appears in the docker20 fixtures.
        assert_eq!(GoTime::from_unix(1_795_441_943, 992_038_797).to_rfc3339_nano(), "2026-11-23T13:52:23.992038797Z");
        assert_eq!(GoTime::from_unix(1_795_441_943, 180_300_170).to_rfc3339_nano(), "2026-11-23T13:52:23.18030017Z");
        assert_eq!(GoTime::from_unix(951_782_400, 0).to_rfc3339_nano(), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in [
            "",
            "2026-11-23",
            "2026-11-23 13:52:39Z",
            "2026-11-23t13:52:39Z",
            "2026-11-23T13:52:39z",
            "2026-11-23T13:52:39",
            "2026-02-30T13:52:39Z",
            "2025-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T13:60:00Z",
            "2026-11-23T13:52:39.Z",
            "2026-11-23T13:52:39+0100",
            "2026-11-23T13:52:39+24:00",
            "2026-11-23T13:52:39Z ",
            "+2026-11-23T13:52:39Z",
        ] {
            let e = GoTime::parse_rfc3339(bad).unwrap_err();
            assert!(e.message.contains(&format!("{bad:?}")), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn zones_utc_and_fixed() {
        let utc = GoTime::parse_rfc3339("2023-11-14T22:13:20.12Z").unwrap();
        assert_eq!(utc, GoTime::from_unix(1_700_000_000, 120_000_000));
        assert_eq!(utc.zone(), Zone::Utc);
        // "+00:00" is a fixed zone: the same instant and text, yet not Go's UTC location.
        let fixed = GoTime::parse_rfc3339("2023-11-14T22:13:20.12+00:00").unwrap();
        assert_eq!((fixed.zone(), fixed.to_rfc3339_nano()), (Zone::Fixed(0), utc.to_rfc3339_nano()));
        assert_ne!(fixed, utc);
        let east = GoTime::parse_rfc3339("2023-11-15T00:13:20+02:00").unwrap();
        assert_eq!(east.in_zone(Zone::Utc), GoTime::from_unix(1_700_000_000, 0));
        assert_eq!(east.date(), (2023, 11, 15));
        assert_eq!(east.in_zone(Zone::Utc).date(), (2023, 11, 14));
    }

    #[test]
    fn clock_arithmetic() {
        let t = GoTime::from_unix_millis(1_700_000_000_250);
        assert_eq!(t, GoTime::from_unix(1_700_000_000, 250_000_000));
        assert_eq!(t.plus_secs(3).unix(), 1_700_000_003);
        assert_eq!(t.plus_secs(3).millis_since(&t), 3000);
        assert_eq!(t.millis_since(&t.plus_secs(3)), 0);
        assert_eq!(GoTime::default(), GoTime::ZERO);
        assert!(GoTime::from_unix(0, 0) > GoTime::ZERO);
        assert_eq!(GoTime::ZERO.unix_nanos(), -62_135_596_800_000_000_000);
    }

    #[test]
    fn serde_round_trip_and_durations() {
        let t = GoTime::from_unix(1_700_000_000, 5);
        let j = serde_json::to_string(&t).unwrap();
        assert_eq!(j, "\"2023-11-14T22:13:20.000000005Z\"");
        assert_eq!(serde_json::from_str::<GoTime>(&j).unwrap(), t);
        assert!(serde_json::from_str::<GoTime>("\"2023-11-14\"").is_err());
        assert_eq!(duration_string_millis(0), "0s");
        assert_eq!(duration_string_millis(250), "250ms");
        assert_eq!(duration_string_millis(1500), "1.5s");
        assert_eq!(duration_string_millis(123_004), "2m3.004s");
        assert_eq!(duration_string_millis(3_600_000), "1h0m0s");
    }
}
