//! Stream plumbing: the uploaded bytes, inflated push-wise when they are gzip ([`gzip`]), read
//! as tar entries and data events ([`tar`]) with only one header block (and capped extension
//! headers) buffered.

pub(crate) mod gzip;
pub(crate) mod tar;
