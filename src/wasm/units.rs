//! Free functions for numbers printed the way the CLIs print them, so pages show the core's
//! formatting instead of re-implementing it.

use super::convert::to_js_error;
use crate::error::Error;
use crate::formats::go_units::{created_since_span, human_duration_of_seconds, human_size_with_precision};
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
        let bytes = finite(&bytes, "humanSize: bytes")?;
        let precision = super::args::opt_count(&precision, "humanSize: precision").map_err(to_js_error)?;
        Ok(human_size(bytes, precision.map(|p| p.min(17) as u32)))
    })
}

/// go-units `HumanDuration` of `seconds` (`About a minute`, `3 weeks`): what the docker CLI
/// prints before "ago" and ctr as AGE. `seconds` a finite number, else an `Error` with code
/// `invalid_argument`.
#[wasm_bindgen(js_name = humanDuration)]
pub fn human_duration_js(#[wasm_bindgen(unchecked_param_type = "number")] seconds: JsValue) -> Result<String, JsValue> {
    super::panic::entry_sync(|| {
        let seconds = finite(&seconds, "humanDuration: seconds")?;
        Ok(human_duration_of_seconds(seconds))
    })
}

/// A finite JS number, or the `invalid_argument` error naming `what`.
fn finite(value: &JsValue, what: &str) -> Result<f64, JsValue> {
    match value.as_f64() {
        Some(v) if v.is_finite() => Ok(v),
        _ => {
            let got = super::args::js_type(value);
            Err(to_js_error(Error::invalid(format!("{what}: expected a finite number, got {got}"))))
        }
    }
}

/// [`human_size`] of many sizes in one call (a column of a 10,000-row table: one crossing into
/// the core instead of one per cell). `bytes` an array or `Float64Array` of finite numbers.
#[wasm_bindgen(js_name = humanSizes, unchecked_return_type = "string[]")]
pub fn human_sizes_js(
    #[wasm_bindgen(unchecked_param_type = "ArrayLike<number>")] bytes: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "number")] precision: JsValue,
) -> Result<js_sys::Array, JsValue> {
    super::panic::entry_sync(|| {
        let values = numbers(&bytes, "humanSizes: bytes")?;
        let precision = super::args::opt_count(&precision, "humanSizes: precision").map_err(to_js_error)?;
        let precision = precision.map(|p| p.min(17) as u32);
        Ok(string_array(values.into_iter().map(|b| human_size(b, precision))))
    })
}

/// [`human_duration_of_seconds`] of many durations in one call (see [`human_sizes_js`]).
#[wasm_bindgen(js_name = humanDurations, unchecked_return_type = "string[]")]
pub fn human_durations_js(
    #[wasm_bindgen(unchecked_param_type = "ArrayLike<number>")] seconds: JsValue,
) -> Result<js_sys::Array, JsValue> {
    super::panic::entry_sync(|| {
        let values = numbers(&seconds, "humanDurations: seconds")?;
        Ok(string_array(values.into_iter().map(human_duration_of_seconds)))
    })
}

/// How long a column of `<duration> ago` cells printed at `now` stays true: `[from, until]`, the
/// clock times (Unix seconds) between which every cell of the creation times `created` (Unix
/// seconds) reads the same (`until` excluded; either may be infinite). A table kept with this
/// span can be printed again, unchanged, at any time inside it.
#[wasm_bindgen(js_name = createdSinceSpan, unchecked_return_type = "Float64Array")]
pub fn created_since_span_js(
    #[wasm_bindgen(unchecked_param_type = "ArrayLike<number>")] created: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
) -> Result<js_sys::Float64Array, JsValue> {
    super::panic::entry_sync(|| {
        let created = numbers(&created, "createdSinceSpan: created")?;
        let now = finite(&now, "createdSinceSpan: now")?;
        let (from, until) = created_since_span(&created, now);
        Ok(js_sys::Float64Array::from(&[from, until][..]))
    })
}

/// The strings as a JS array, handed over as one string split in JS: a JS string made per
/// value costs more than formatting it (measured: 2 µs a value, 10,000 of them 20 ms).
pub(super) fn string_array<S: AsRef<str>>(values: impl Iterator<Item = S>) -> js_sys::Array {
    let mut joined = String::new();
    let mut count = 0;
    for v in values {
        if count > 0 {
            joined.push('\n');
        }
        joined.push_str(v.as_ref());
        count += 1;
    }
    if count == 0 {
        return js_sys::Array::new();
    }
    js_sys::JsString::from(joined.as_str()).split("\n")
}

/// The finite numbers of an array or `Float64Array`, or the `invalid_argument` error naming
/// `what` (and the index of a value that is not one).
fn numbers(value: &JsValue, what: &str) -> Result<Vec<f64>, JsValue> {
    let values = if let Some(typed) = value.dyn_ref::<js_sys::Float64Array>() {
        typed.to_vec()
    } else if js_sys::Array::is_array(value) {
        let array = js_sys::Array::from(value);
        (0..array.length()).map(|i| array.get(i).as_f64().unwrap_or(f64::NAN)).collect()
    } else {
        let got = super::args::js_type(value);
        return Err(to_js_error(Error::invalid(format!("{what}: expected an array of numbers, got {got}"))));
    };
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(to_js_error(Error::invalid(format!("{what}: [{i}] is not a finite number")))),
        None => Ok(values),
    }
}
