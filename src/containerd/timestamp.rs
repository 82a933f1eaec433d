//! UTC timestamps with nanosecond precision, stored and shown as Go's RFC3339Nano
//! (`2006-01-02T15:04:05.999999999Z`: trailing zeros of the fraction dropped), which is how
//! containerd renders its `createdAt`/`updatedAt`. Also the RFC3339 parser that the
//! `containerd.io/gc.expire` label needs, and Go's `Duration.String`.

use crate::error::{Error, Result};
use std::fmt;

/// A point in time: seconds since the Unix epoch (may be negative: Go's zero time is year 1)
/// plus nanoseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

impl Timestamp {
    pub fn from_unix(secs: i64, nanos: u32) -> Timestamp {
        Timestamp { secs: secs + (nanos / 1_000_000_000) as i64, nanos: nanos % 1_000_000_000 }
    }
    pub fn from_millis(millis: u64) -> Timestamp {
        Timestamp::from_unix((millis / 1000) as i64, (millis % 1000) as u32 * 1_000_000)
    }
    /// The current time (millisecond precision: all a browser gives).
    pub fn now() -> Timestamp {
        Timestamp::from_millis(crate::storage::now_millis())
    }
    pub fn unix_secs(&self) -> i64 {
        self.secs
    }
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }
    /// Whole milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub fn millis_since(&self, earlier: &Timestamp) -> u64 {
        let ms = |t: &Timestamp| t.secs as i128 * 1000 + (t.nanos / 1_000_000) as i128;
        (ms(self) - ms(earlier)).max(0) as u64
    }
    pub fn plus_secs(&self, secs: i64) -> Timestamp {
        Timestamp { secs: self.secs + secs, nanos: self.nanos }
    }

    /// Go's `time.RFC3339Nano` in UTC.
    pub fn to_rfc3339_nano(&self) -> String {
        let days = self.secs.div_euclid(86_400);
        let sod = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let mut s = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", sod / 3600, sod / 60 % 60, sod % 60);
        if self.nanos > 0 {
            let frac = format!("{:09}", self.nanos);
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        s.push('Z');
        s
    }

    /// Parses RFC3339 as Go's `time.Parse(time.RFC3339, s)` accepts it: a fraction of a
    /// second is allowed, the zone is `Z` or `±hh:mm`.
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp> {
        let bad = || Error::invalid(format!("invalid RFC3339 time {s:?}"));
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64> {
            let part = &s[r];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59 {
            return Err(bad());
        }
        let mut rest = &s[19..];
        let mut nanos = 0u32;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 {
                return Err(bad());
            }
            nanos = format!("{:0<9}", &frac[..digits]).parse().map_err(|_| bad())?;
            rest = &frac[digits..];
        }
        let offset = match rest {
            "Z" => 0,
            _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) && &rest[3..4] == ":" => {
                let oh = num(s.len() - 5..s.len() - 3)?;
                let om = num(s.len() - 2..s.len())?;
                if oh > 23 || om > 59 {
                    return Err(bad());
                }
                let sign = if rest.starts_with('-') { -1 } else { 1 };
                sign * (oh * 3600 + om * 60)
            }
            _ => return Err(bad()),
        };
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset;
        Ok(Timestamp { secs, nanos })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_nano())
    }
}
impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339_nano())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339_nano())
    }
}
impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

/// Go's `time.Duration.String()` for a whole number of milliseconds (`0s`, `250ms`, `1.5s`,
/// `2m3.004s`, `1h0m0s`).
pub fn go_duration_millis(ms: u64) -> String {
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

// Howard Hinnant's days-from-civil algorithms (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go_rfc3339nano() {
        assert_eq!(Timestamp::from_unix(0, 0).to_rfc3339_nano(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp::from_unix(1_700_000_000, 120_000_000).to_rfc3339_nano(), "2023-11-14T22:13:20.12Z");
        assert_eq!(Timestamp::from_unix(951_782_400, 1).to_rfc3339_nano(), "2000-02-29T00:00:00.000000001Z");
        // Go's zero time.
        assert_eq!(Timestamp::from_unix(-62_135_596_800, 0).to_rfc3339_nano(), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn parses_rfc3339_with_zones_and_fractions() {
        let t = Timestamp::parse_rfc3339("2023-11-14T22:13:20.12Z").unwrap();
        assert_eq!(t, Timestamp::from_unix(1_700_000_000, 120_000_000));
        let z = Timestamp::parse_rfc3339("2023-11-15T00:13:20+02:00").unwrap();
        assert_eq!(z, Timestamp::from_unix(1_700_000_000, 0));
        assert_eq!(Timestamp::parse_rfc3339("0001-01-01T00:00:00Z").unwrap().unix_secs(), -62_135_596_800);
        for bad in ["", "2023-11-14", "2023-02-30T00:00:00Z", "2023-11-14T22:13:20", "2023-11-14 22:13:20Z", "2023-11-14T22:13:20.Z"] {
            assert_eq!(Timestamp::parse_rfc3339(bad).unwrap_err().code, crate::ErrorCode::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn serde_round_trip_and_durations() {
        let t = Timestamp::from_unix(1_700_000_000, 5);
        let j = serde_json::to_string(&t).unwrap();
        assert_eq!(j, "\"2023-11-14T22:13:20.000000005Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&j).unwrap(), t);
        assert_eq!(go_duration_millis(0), "0s");
        assert_eq!(go_duration_millis(250), "250ms");
        assert_eq!(go_duration_millis(1500), "1.5s");
        assert_eq!(go_duration_millis(123_004), "2m3.004s");
        assert_eq!(go_duration_millis(3_600_000), "1h0m0s");
    }
}
