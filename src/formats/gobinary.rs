//! Go's binary encodings as containerd stores them in meta.db: `time.Time.MarshalBinary`
//! (timestamps, as methods of [`GoTime`]) and `encoding/binary.PutVarint` (zig-zag LEB128
//! integers: sizes, the schema version).

use crate::error::{Error, Result};
use crate::formats::gotime::{GoTime, Zone, UNIX_TO_INTERNAL};

impl GoTime {
    /// Decodes Go's `Time.MarshalBinary` output: version 1 (15 bytes) or 2 (16 bytes, the zone
    /// offset carries seconds). Errors mirror Go's `Time.UnmarshalBinary` messages. The zone
    /// *name* is not encoded by Go; offset −1 minute is the UTC location.
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
        let mut offset = i32::from(i16::from_be_bytes([buf[13], buf[14]])) * 60;
        if version == 2 {
            // Go adds the byte as unsigned here although it wrote it as int8; mirror that.
            offset += i32::from(buf[15]);
        }
        let zone = if offset == -60 { Zone::Utc } else { Zone::Fixed(offset) };
        // Go does not range-check the nanoseconds; out-of-range ones carry into the seconds.
        let unix = seconds
            .checked_sub(UNIX_TO_INTERNAL)
            .and_then(|s| s.checked_add(i64::from(nanos.div_euclid(1_000_000_000))))
            .ok_or_else(|| Error::corrupt(format!("Time.UnmarshalBinary: seconds {seconds} out of range")))?;
        Ok(GoTime::from_unix(unix, nanos.rem_euclid(1_000_000_000) as u32).in_zone(zone))
    }

    /// Encodes like Go's `Time.MarshalBinary`: version 1 unless the offset has seconds.
    pub fn to_binary(&self) -> Result<Vec<u8>> {
        let (version, minutes, secs) = match self.zone() {
            Zone::Utc => (1u8, -1i32, 0i8),
            Zone::Fixed(off) => {
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
        out.extend_from_slice(&(self.unix() + UNIX_TO_INTERNAL).to_be_bytes());
        out.extend_from_slice(&(self.nanos() as i32).to_be_bytes());
        out.extend_from_slice(&(minutes as i16).to_be_bytes());
        if version == 2 {
            out.push(secs as u8);
        }
        Ok(out)
    }
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
        let t = GoTime::from_unix(0, 500_000_000).in_zone(Zone::Fixed(3600));
        let b = t.to_binary().unwrap();
        assert_eq!(b[0], 1);
        assert_eq!(GoTime::from_binary(&b).unwrap(), t);
        assert_eq!(t.to_rfc3339_nano(), "1970-01-01T01:00:00.5+01:00");
        let t2 = GoTime::from_unix(0, 0).in_zone(Zone::Fixed(5400 + 30));
        let b2 = t2.to_binary().unwrap();
        assert_eq!((b2.len(), b2[0]), (16, 2));
        assert_eq!(GoTime::from_binary(&b2).unwrap(), t2);
        // A fixed zero offset is not the UTC location: it encodes as 0 minutes, not −1.
        let fixed0 = GoTime::from_unix(0, 0).in_zone(Zone::Fixed(0));
        let b3 = fixed0.to_binary().unwrap();
        assert_eq!(&b3[13..15], &[0, 0]);
        assert_eq!(GoTime::from_binary(&b3).unwrap(), fixed0);
        // Go's zero time is second 0 of year 1.
        assert_eq!(&GoTime::ZERO.to_binary().unwrap()[1..13], &[0; 12]);
        assert!(GoTime::from_binary(&GoTime::ZERO.to_binary().unwrap()).unwrap().is_zero());
    }

    #[test]
    fn time_binary_errors() {
        assert!(GoTime::from_binary(&[]).unwrap_err().message.contains("no data"));
        assert!(GoTime::from_binary(&[3; 15]).unwrap_err().message.contains("unsupported version"));
        assert!(GoTime::from_binary(&[1; 16]).unwrap_err().message.contains("invalid length"));
        assert_eq!(GoTime::ZERO.to_rfc3339_nano(), "0001-01-01T00:00:00Z");
    }
}
