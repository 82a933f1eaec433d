//! Test-only helpers shared by the native Docker store tests.
#![allow(dead_code)]

pub mod docker_fixture;
