//! UTC timestamps with nanosecond precision, stored and shown as Go's RFC3339Nano
//! (`2006-01-02T15:04:05.999999999Z`: trailing zeros of the fraction dropped), which is how
//! containerd renders its `createdAt`/`updatedAt`; the text forms come from
//! [`crate::formats::gotime`]. Also Go's `Duration.String` for the ingest-lock message.

use crate::error::Result;
use crate::formats::gotime::GoTime;
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
        GoTime::from_unix(self.secs, self.nanos).to_rfc3339_nano()
    }

    /// Parses RFC3339 as Go's `time.Parse(time.RFC3339, s)` accepts it (a fraction of a second
    /// is allowed, the zone is `Z` or `±hh:mm`); the result is the same instant in UTC.
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp> {
        let t = GoTime::parse_rfc3339(s)?;
        Ok(Timestamp { secs: t.unix(), nanos: t.nanos() })
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
