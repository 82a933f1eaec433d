//! Timestamps in Go's `time.RFC3339Nano` form (trailing zeros of the fraction dropped), which
//! is how Docker writes `created` in configs and `lastUpdated` in image metadata.

/// A point in time: seconds since the Unix epoch plus nanoseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Instant {
    pub secs: i64,
    pub nanos: u32,
}

impl Instant {
    pub fn plus_secs(self, s: i64) -> Instant {
        Instant { secs: self.secs + s, nanos: self.nanos }
    }

    pub fn with_nanos(self, nanos: u32) -> Instant {
        Instant { secs: self.secs, nanos: nanos % 1_000_000_000 }
    }

    pub fn to_rfc3339_nano(self) -> String {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let mut out = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
        if self.nanos > 0 {
            let frac = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        out.push('Z');
        out
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's well-known algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::Instant;

    #[test]
    fn formats_like_go() {
        assert_eq!(Instant { secs: 0, nanos: 0 }.to_rfc3339_nano(), "1970-01-01T00:00:00Z");
        // 2026-11-23T13:52:23.992038797Z appears in the docker20 fixtures.
        let t = Instant { secs: 1_795_441_943, nanos: 992_038_797 };
        assert_eq!(t.to_rfc3339_nano(), "2026-11-23T13:52:23.992038797Z");
        assert_eq!(t.with_nanos(180_300_170).to_rfc3339_nano(), "2026-11-23T13:52:23.18030017Z");
        assert_eq!(Instant { secs: 951_782_400, nanos: 0 }.to_rfc3339_nano(), "2000-02-29T00:00:00Z");
    }
}
