//! Free functions for numbers printed the way the CLIs print them, so pages show the core's
//! formatting instead of re-implementing it.

use super::convert::to_js_error;
use crate::containerd::ls_view::human_size_with_precision;
use crate::error::Error;
use wasm_bindgen::prelude::*;

/// go-units `HumanSizeWithPrecision(bytes, precision)`: `precision` significant digits, decimal
/// units (`1.98MB` with 3, the docker CLI's image sizes; `1.051MB` with 4, `ctr content ls`).
/// Default precision 3.
pub fn human_size(bytes: f64, precision: Option<u32>) -> String {
    human_size_with_precision(bytes.max(0.0) as i64, precision.unwrap_or(3).clamp(1, 17) as usize)
}

/// [`human_size`] for JS: `bytes` a finite number, `precision` (optional) an integer; anything
/// else throws an `Error` with code `invalid_argument`.
#[wasm_bindgen(js_name = humanSize)]
pub fn human_size_js(
    #[wasm_bindgen(unchecked_param_type = "number")] bytes: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "number")] precision: JsValue,
) -> Result<String, JsValue> {
    super::panic::entry_sync(|| {
        let bytes = match bytes.as_f64() {
            Some(b) if b.is_finite() => b,
            _ => {
                let got = super::args::js_type(&bytes);
                return Err(to_js_error(Error::invalid(format!(
                    "humanSize: bytes: expected a finite number, got {got}"
                ))));
            }
        };
        let precision = super::args::opt_count(&precision, "humanSize: precision").map_err(to_js_error)?;
        Ok(human_size(bytes, precision.map(|p| p.min(17) as u32)))
    })
}
