//! [`SharedBytes`]: a record value that many owners can hold without copying it.
//!
//! An import stages its 10,000 configs as the values of [`super::Op::Put`]s and keeps its
//! operations until they commit, so that it can plan again if another tab commits first; with
//! owned vectors each attempt copied all of them (34 MB at 10,000 images, and as much more
//! wasm memory at the import's peak). A pack read for a commit that changes a few of its
//! entries keeps the others as slices of the record read, not as copies.

use std::fmt;
use std::ops::{Deref, Range};
use std::rc::Rc;

/// Bytes shared by count: a whole buffer or a range of one. Cloning copies no bytes.
#[derive(Clone, Default)]
pub struct SharedBytes {
    buf: Rc<Vec<u8>>,
    range: Range<usize>,
}

impl SharedBytes {
    /// The bytes as a vector of their own: without a copy when nothing else holds the buffer
    /// and the range is all of it.
    pub fn into_vec(self) -> Vec<u8> {
        if self.range == (0..self.buf.len()) {
            return Rc::try_unwrap(self.buf).unwrap_or_else(|shared| shared.as_ref().clone());
        }
        self.buf[self.range].to_vec()
    }

    /// The bytes from `from` on (all of them past the end: none), sharing the buffer.
    pub fn tail(self, from: usize) -> SharedBytes {
        let start = self.range.start.saturating_add(from).min(self.range.end);
        SharedBytes { range: start..self.range.end, ..self }
    }

    /// `part`, a slice of these bytes, as shared bytes of the same buffer; `None` when it is
    /// not inside them.
    pub fn slice_of(&self, part: &[u8]) -> Option<SharedBytes> {
        let whole = self.as_ref();
        let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
        let end = start.checked_add(part.len())?;
        (end <= whole.len())
            .then(|| SharedBytes { buf: self.buf.clone(), range: self.range.start + start..self.range.start + end })
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(v: Vec<u8>) -> Self {
        SharedBytes { range: 0..v.len(), buf: Rc::new(v) }
    }
}

impl Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[self.range.clone()]
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_ref() == other.as_ref()
    }
}

impl Eq for SharedBytes {}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::SharedBytes;

    #[test]
    fn a_clone_shares_the_buffer_and_an_unshared_whole_buffer_comes_back_without_a_copy() {
        let bytes = SharedBytes::from(b"config".to_vec());
        let ptr = bytes.as_ptr();
        let copy = bytes.clone();
        assert_eq!(copy.as_ptr(), ptr);
        drop(copy);
        let owned = bytes.into_vec();
        assert_eq!(owned.as_ptr(), ptr);
    }

    #[test]
    fn tails_and_slices_read_their_part_of_the_buffer() {
        let bytes = SharedBytes::from(b"\x01{\"os\":\"linux\"}".to_vec());
        let tail = bytes.clone().tail(1);
        assert_eq!(&*tail, b"{\"os\":\"linux\"}");
        assert_eq!(&*bytes.clone().tail(99), b"");
        let os = tail.slice_of(&tail[6..13]).unwrap();
        assert_eq!(&*os, b"\"linux\"");
        assert_eq!(os.clone().tail(1).into_vec(), b"linux\"");
        assert!(tail.slice_of(b"linux").is_none(), "not a slice of these bytes");
        assert!(os.slice_of(&tail[..]).is_none(), "wider than these bytes");
        assert_eq!(tail, SharedBytes::from(b"{\"os\":\"linux\"}".to_vec()));
    }
}
