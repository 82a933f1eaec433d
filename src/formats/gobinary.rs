//! Go's binary encodings as containerd stores them in meta.db: `time.Time.MarshalBinary`
//! (timestamps) and `encoding/binary.PutVarint` (zig-zag LEB128 integers: sizes, the schema
//! version), plus Go-style renderings of times that `ctr` prints.

use crate::error::{Error, Result};

/// Seconds from 0001-01-01T00:00:00Z (Go's internal epoch) to 1970-01-01T00:00:00Z.
const UNIX_TO_INTERNAL: i64 = (1969 * 365 + 1969 / 4 - 1969 / 100 + 1969 / 400) * 86400;

/// A Go `time.Time` as `MarshalBinary` encodes it: seconds since year 1 (UTC), nanoseconds,
/// and the zone offset. The zone *name* is not encoded by Go, so it is not kept here either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GoTime {
    /// Seconds since 0001-01-01T00:00:00Z.
    pub seconds: i64,
    /// Nanoseconds within the second. Go does not range-check this on decode; neither do we.
    pub nanos: i32,
    /// Zone offset in seconds east of UTC; `None` = the UTC location (Go encodes it as −1 minute).
    pub offset: Option<i32>,
}

impl Default for GoTime {
    fn default() -> Self {
        GoTime::ZERO
    }
}

impl GoTime {
    /// Go's zero `time.Time` (0001-01-01T00:00:00Z): what containerd reports when a timestamp
    /// key is missing.
    pub const ZERO: GoTime = GoTime { seconds: 0, nanos: 0, offset: None };

    /// A UTC time from Unix seconds and nanoseconds.
    pub fn from_unix(unix_seconds: i64, nanos: u32) -> GoTime {
        GoTime { seconds: unix_seconds + UNIX_TO_INTERNAL, nanos: nanos as i32, offset: None }
    }

    pub fn unix_seconds(&self) -> i64 {
        self.seconds - UNIX_TO_INTERNAL
    }

    /// Nanoseconds since the Unix epoch (i128: the full Go range does not fit in i64).
    pub fn unix_nanos(&self) -> i128 {
        self.unix_seconds() as i128 * 1_000_000_000 + self.nanos as i128
    }

    pub fn is_zero(&self) -> bool {
        self.seconds == 0 && self.nanos == 0
    }

    /// Decodes Go's `Time.MarshalBinary` output: version 1 (15 bytes) or 2 (16 bytes, the zone
    /// offset carries seconds). Errors mirror Go's `Time.UnmarshalBinary` messages.
    pub fn from_binary(buf: &[u8]) -> Result<GoTime> {
        let Some(&version) = buf.first() else {
            return Err(Error::corrupt("Time.UnmarshalBinary: no data"));
        };
        let want_len = match version {
            1 => 15,
            2 => 16,
            _ => return Err(Error::corrupt(format!("Time.UnmarshalBinary: unsupported version {version}"))),
        };
        if buf.len() != want_len {
            return Err(Error::corrupt(format!(
                "Time.UnmarshalBinary: invalid length {} for version {version} (want {want_len})",
                buf.len()
            )));
        }
        let seconds = i64::from_be_bytes(buf[1..9].try_into().expect("8 bytes"));
        let nanos = i32::from_be_bytes(buf[9..13].try_into().expect("4 bytes"));
        let mut offset = i16::from_be_bytes([buf[13], buf[14]]) as i32 * 60;
        if version == 2 {
            // Go adds the byte as unsigned here although it wrote it as int8; mirror that.
            offset += buf[15] as i32;
        }
        let offset = if offset == -60 { None } else { Some(offset) };
        Ok(GoTime { seconds, nanos, offset })
    }

    /// Encodes like Go's `Time.MarshalBinary`: version 1 unless the offset has seconds.
    pub fn to_binary(&self) -> Result<Vec<u8>> {
        let (version, minutes, secs) = match self.offset {
            None => (1u8, -1i32, 0i8),
            Some(off) => {
                let minutes = off / 60;
                if !(-32768..=32767).contains(&minutes) || minutes == -1 {
                    return Err(Error::invalid(format!("Time.MarshalBinary: unexpected zone offset {off}")));
                }
                if off % 60 != 0 {
                    (2, minutes, (off % 60) as i8)
                } else {
                    (1, minutes, 0)
                }
            }
        };
        let mut out = Vec::with_capacity(16);
        out.push(version);
        out.extend_from_slice(&self.seconds.to_be_bytes());
        out.extend_from_slice(&self.nanos.to_be_bytes());
        out.extend_from_slice(&(minutes as i16).to_be_bytes());
        if version == 2 {
            out.push(secs as u8);
        }
        Ok(out)
    }

    /// Go's `Format(time.RFC3339Nano)`: local time in the stored offset, fraction without
    /// trailing zeros, `Z` for a zero offset.
    pub fn to_rfc3339_nano(&self) -> String {
        let offset = self.offset.unwrap_or(0);
        let local = self.seconds + offset as i64 - UNIX_TO_INTERNAL;
        let (days, secs_of_day) = (local.div_euclid(86400), local.rem_euclid(86400));
        let (y, m, d) = civil_from_days(days);
        let mut s = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day / 60 % 60,
            secs_of_day % 60
        );
        let nanos = self.nanos.rem_euclid(1_000_000_000);
        if nanos != 0 {
            let frac = format!("{nanos:09}");
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        if offset == 0 {
            s.push('Z');
        } else {
            let sign = if offset < 0 { '-' } else { '+' };
            let abs = offset.unsigned_abs();
            s.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60));
        }
        s
    }
}

/// (year, month, day) of a day count since 1970-01-01 in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

/// Decodes Go's `binary.Varint` (zig-zag + LEB128) strictly: a truncated or overlong (more
/// than 10 bytes / 64 bits) encoding is an error. Returns the value and the bytes used.
pub fn read_varint(buf: &[u8]) -> Result<(i64, usize)> {
    let mut x: u64 = 0;
    let mut shift = 0u32;
    for (i, &b) in buf.iter().enumerate() {
        if i == 10 || (i == 9 && b > 1) {
            return Err(Error::corrupt("varint overflows 64 bits"));
        }
        x |= ((b & 0x7f) as u64) << shift;
        if b < 0x80 {
            let v = ((x >> 1) as i64) ^ -((x & 1) as i64);
            return Ok((v, i + 1));
        }
        shift += 7;
    }
    Err(Error::corrupt(format!("truncated varint ({} bytes)", buf.len())))
}

/// Encodes like Go's `binary.PutVarint`.
pub fn write_varint(v: i64) -> Vec<u8> {
    let mut x = ((v << 1) ^ (v >> 63)) as u64;
    let mut out = Vec::with_capacity(10);
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
    out
}

/// go-units `HumanDuration`, which `ctr content ls` prints in its AGE column
/// (`HumanDuration(time.Since(createdAt))`). `nanos` is the elapsed time in nanoseconds.
pub fn human_duration(nanos: i128) -> String {
    let seconds = nanos / 1_000_000_000;
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = seconds / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // Go rounds hours here: int(d.Hours() + 0.5).
    let hours = ((nanos as f64) / 3.6e12 + 0.5) as i128;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", ((nanos as f64) / 3.6e12) as i128 / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_known_bytes() {
        // Go: binary.PutVarint(4) = [0x08]; -1 = [0x01]; 300 = [0xd8, 0x04].
        assert_eq!(write_varint(4), vec![0x08]);
        assert_eq!(write_varint(-1), vec![0x01]);
        assert_eq!(write_varint(300), vec![0xd8, 0x04]);
        for v in [0i64, 1, -1, 63, -64, 64, 1 << 40, i64::MAX, i64::MIN] {
            let enc = write_varint(v);
            assert_eq!(read_varint(&enc).unwrap(), (v, enc.len()), "value {v}");
        }
        assert!(read_varint(&[0x80]).unwrap_err().message.contains("truncated"));
        assert!(read_varint(&[]).is_err());
        assert!(read_varint(&[0xff; 11]).unwrap_err().message.contains("overflows"));
    }

    #[test]
    fn time_binary_v1_utc_round_trip() {
        let t = GoTime::from_unix(1_700_000_000, 123_456_789);
        let b = t.to_binary().unwrap();
        assert_eq!(b.len(), 15);
        assert_eq!(b[0], 1);
        assert_eq!(&b[13..15], &[0xff, 0xff]); // −1 minute = UTC
        assert_eq!(GoTime::from_binary(&b).unwrap(), t);
        assert_eq!(t.to_rfc3339_nano(), "2023-11-14T22:13:20.123456789Z");
    }

    #[test]
    fn time_binary_with_offsets() {
        let t = GoTime { offset: Some(3600), ..GoTime::from_unix(0, 500_000_000) };
        let b = t.to_binary().unwrap();
        assert_eq!(b[0], 1);
        assert_eq!(GoTime::from_binary(&b).unwrap(), t);
        assert_eq!(t.to_rfc3339_nano(), "1970-01-01T01:00:00.5+01:00");
        let t2 = GoTime { offset: Some(5400 + 30), ..GoTime::from_unix(0, 0) };
        let b2 = t2.to_binary().unwrap();
        assert_eq!((b2.len(), b2[0]), (16, 2));
        assert_eq!(GoTime::from_binary(&b2).unwrap(), t2);
    }

    #[test]
    fn time_binary_errors() {
        assert!(GoTime::from_binary(&[]).unwrap_err().message.contains("no data"));
        assert!(GoTime::from_binary(&[3; 15]).unwrap_err().message.contains("unsupported version"));
        assert!(GoTime::from_binary(&[1; 16]).unwrap_err().message.contains("invalid length"));
        assert_eq!(GoTime::ZERO.to_rfc3339_nano(), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn human_durations_like_go_units() {
        let s = 1_000_000_000i128;
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(s), "1 second");
        assert_eq!(human_duration(59 * s), "59 seconds");
        assert_eq!(human_duration(60 * s), "About a minute");
        assert_eq!(human_duration(59 * 60 * s), "59 minutes");
        assert_eq!(human_duration(3600 * s), "About an hour");
        assert_eq!(human_duration(47 * 3600 * s), "47 hours");
        assert_eq!(human_duration(3 * 86400 * s), "3 days");
        assert_eq!(human_duration(20 * 86400 * s), "2 weeks");
        assert_eq!(human_duration(90 * 86400 * s), "3 months");
        assert_eq!(human_duration(800 * 86400 * s), "2 years");
    }
}
