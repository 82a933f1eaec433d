//! Free functions for numbers printed the way the CLIs print them, so pages show the core's
//! formatting instead of re-implementing it.

use crate::containerd::ls_view::human_size_with_precision;
use wasm_bindgen::prelude::*;

/// go-units `HumanSizeWithPrecision(bytes, precision)`: `precision` significant digits, decimal
/// units (`1.98MB` with 3, the docker CLI's image sizes; `1.051MB` with 4, `ctr content ls`).
/// Default precision 3.
#[wasm_bindgen(js_name = humanSize)]
pub fn human_size(bytes: f64, precision: Option<u32>) -> String {
    human_size_with_precision(bytes.max(0.0) as i64, precision.unwrap_or(3).clamp(1, 17) as usize)
}
