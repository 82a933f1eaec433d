//! Turns the uploaded bytes into the tar stream: gzip is detected from its magic bytes
//! (`1f 8b`), never from a file name, and inflated push-wise; anything else passes through.
//!
//! Memory stays bounded however well the input compresses: flate2's write-side decoder turns
//! at most one internal buffer (32 KiB) of input into output per `write` call, and we hand that
//! output on before feeding more.

use crate::error::{Error, Result};
use flate2::write::MultiGzDecoder;
use std::io::Write;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

enum State {
    /// Fewer than two bytes seen: not yet known whether this is gzip.
    Sniffing(Vec<u8>),
    Plain,
    Gzip(Box<MultiGzDecoder<Vec<u8>>>),
}

/// How far an upload may inflate: past `grace` bytes of tar, the tar may be at most `ratio`
/// times the compressed bytes read, and never more than `max_tar_bytes`. A gzip bomb (a
/// few MB that inflate to GiBs of zeros) is refused after `grace` bytes instead of running
/// for minutes; real layers compress 2-10×, so a ratio of 200 leaves them room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InflationLimits {
    pub ratio: u64,
    pub grace: u64,
    pub max_tar_bytes: u64,
}

impl Default for InflationLimits {
    fn default() -> Self {
        InflationLimits { ratio: 200, grace: 1 << 30, max_tar_bytes: 1 << 40 }
    }
}

pub(crate) struct Decompressor {
    state: State,
    limits: InflationLimits,
    /// Compressed bytes consumed and tar bytes produced so far.
    bytes_in: u64,
    bytes_out: u64,
    /// The output handed out by the last call (swapped with the decoder's sink to keep both
    /// allocations).
    out: Vec<u8>,
}

impl Default for Decompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl Decompressor {
    pub(crate) fn new() -> Self {
        Self::with_limits(InflationLimits::default())
    }

    /// Whether the input turned out not to be gzip: what comes out is what went in.
    pub(crate) fn is_plain(&self) -> bool {
        matches!(self.state, State::Plain)
    }

    pub(crate) fn with_limits(limits: InflationLimits) -> Self {
        Decompressor {
            state: State::Sniffing(Vec::with_capacity(2)),
            limits,
            bytes_in: 0,
            bytes_out: 0,
            out: Vec::new(),
        }
    }

    /// Counts what a step consumed and produced; past the limits, `resource_exhausted`.
    fn account(&mut self, used: usize, produced: usize, gzip: bool) -> Result<()> {
        self.bytes_in += used as u64;
        self.bytes_out += produced as u64;
        let l = self.limits;
        if self.bytes_out > l.max_tar_bytes {
            return Err(Error::exhausted(format!(
                "the upload holds more than {} MiB of tar data, the most one import takes",
                l.max_tar_bytes >> 20
            )));
        }
        if gzip && self.bytes_out > l.grace && self.bytes_out / self.bytes_in.max(1) > l.ratio {
            return Err(Error::exhausted(format!(
                "gzip bomb? {} compressed bytes inflated to {} MiB, more than {}× (the limit past {} MiB)",
                self.bytes_in,
                self.bytes_out >> 20,
                l.ratio,
                l.grace >> 20
            )));
        }
        Ok(())
    }

    #[cfg(test)]
    fn is_gzip(&self) -> bool {
        matches!(self.state, State::Gzip(_))
    }

    /// Consumes a prefix of `input` (at least one byte when `input` is non-empty) and returns
    /// how many bytes were consumed with the tar bytes they produced (possibly none).
    pub(crate) fn feed<'a>(&'a mut self, input: &'a [u8]) -> Result<(usize, &'a [u8])> {
        if input.is_empty() {
            return Ok((0, &[]));
        }
        match &mut self.state {
            State::Sniffing(held) => {
                let take = (2 - held.len()).min(input.len());
                held.extend_from_slice(&input[..take]);
                if held.len() < 2 {
                    return Ok((take, &[]));
                }
                let head = std::mem::take(held);
                if head == GZIP_MAGIC {
                    let mut dec = MultiGzDecoder::new(Vec::new());
                    dec.write_all(&head).map_err(gzip_error)?;
                    self.state = State::Gzip(Box::new(dec));
                    Ok((take, &[]))
                } else {
                    self.state = State::Plain;
                    self.out = head;
                    Ok((take, &self.out))
                }
            }
            State::Plain => {
                self.account(input.len(), input.len(), false)?;
                Ok((input.len(), input))
            }
            State::Gzip(dec) => {
                let n = dec.write(input).map_err(gzip_error)?;
                self.out.clear();
                std::mem::swap(&mut self.out, dec.get_mut());
                if n == 0 && self.out.is_empty() {
                    return Err(Error::corrupt("corrupt gzip stream: the decoder accepts no more input"));
                }
                let produced = self.out.len();
                self.account(n, produced, true)?;
                Ok((n, &self.out))
            }
        }
    }

    /// Ends the input: checks the gzip trailer and returns the last tar bytes.
    pub(crate) fn finish(&mut self) -> Result<&[u8]> {
        match &mut self.state {
            State::Sniffing(held) => {
                self.out = std::mem::take(held);
                self.state = State::Plain;
                Ok(&self.out)
            }
            State::Plain => Ok(&[]),
            State::Gzip(dec) => {
                dec.try_finish().map_err(gzip_error)?;
                self.out.clear();
                std::mem::swap(&mut self.out, dec.get_mut());
                let produced = self.out.len();
                self.account(0, produced, true)?;
                Ok(&self.out)
            }
        }
    }
}

fn gzip_error(e: std::io::Error) -> Error {
    let what = match e.kind() {
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::WriteZero => "truncated gzip stream",
        _ => "corrupt gzip stream",
    };
    Error::corrupt(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_gzip_bomb_is_refused_past_the_grace_size() {
        let bomb = gzip(&vec![0u8; 8 << 20]);
        let limits = InflationLimits { ratio: 100, grace: 1 << 20, max_tar_bytes: 1 << 40 };
        let mut d = Decompressor::with_limits(limits);
        let e = run(&mut d, &bomb, 4096).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::ResourceExhausted, "{e}");
        assert!(e.message.contains("gzip bomb"), "{e}");
        // The same bytes pass with the default limits (8 MiB is within the grace size)...
        assert_eq!(run(&mut Decompressor::new(), &bomb, 4096).unwrap().0.len(), 8 << 20);
        // ...and plain input counts against the total only.
        let small = InflationLimits { ratio: 1, grace: 0, max_tar_bytes: 1000 };
        let e = run(&mut Decompressor::with_limits(small), &[7u8; 2000], 100).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::ResourceExhausted, "{e}");
    }

    fn run(d: &mut Decompressor, mut input: &[u8], step: usize) -> Result<(Vec<u8>, usize)> {
        let (mut all, mut largest) = (Vec::new(), 0);
        while !input.is_empty() {
            let piece = &input[..step.min(input.len())];
            let (n, out) = d.feed(piece)?;
            largest = largest.max(out.len());
            all.extend_from_slice(out);
            input = &input[n..];
        }
        all.extend_from_slice(d.finish()?);
        Ok((all, largest))
    }

    #[test]
    fn plain_input_passes_through_even_one_byte_at_a_time() {
        let data = b"hello, not gzip".to_vec();
        let mut d = Decompressor::new();
        assert_eq!(run(&mut d, &data, 1).unwrap().0, data);
        assert!(!d.is_gzip());
        let mut d = Decompressor::new();
        assert_eq!(run(&mut d, b"x", 1).unwrap().0, b"x");
    }

    #[test]
    fn gzip_output_is_bounded_however_well_it_compresses() {
        let zeros = vec![0u8; 8 << 20];
        let packed = gzip(&zeros);
        for step in [1, 7, 65536, packed.len()] {
            let mut d = Decompressor::new();
            let (out, largest) = run(&mut d, &packed, step).unwrap();
            assert!(d.is_gzip());
            assert_eq!(out.len(), zeros.len());
            assert!(largest <= 64 << 10, "one step produced {largest} bytes");
        }
    }

    #[test]
    fn concatenated_members_are_one_stream() {
        let mut packed = gzip(b"first ");
        packed.extend(gzip(b"second"));
        assert_eq!(run(&mut Decompressor::new(), &packed, 3).unwrap().0, b"first second");
    }

    #[test]
    fn truncated_and_corrupt_gzip_are_errors() {
        let packed = gzip(&vec![7u8; 100_000]);
        let e = run(&mut Decompressor::new(), &packed[..packed.len() / 2], 4096).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::DataCorrupt);
        assert!(e.message.contains("gzip"), "{e}");
        let mut bad = packed.clone();
        for b in &mut bad[20..60] {
            *b ^= 0x5a;
        }
        let e = run(&mut Decompressor::new(), &bad, 4096).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::DataCorrupt, "{e}");
    }
}
