//! Kubernetes resource quantities (`512Mi`, `1.5Gi`, `250m`, `2`), parsed exactly.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// A Kubernetes quantity as written by the user. Always valid once constructed through
/// [`Quantity::parse`]; deserialisation accepts strings and numbers and keeps the text, so that
/// validation can report a malformed quantity with its position instead of failing the parse.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Quantity(pub String);

impl Quantity {
    /// The shape of a quantity, as a regular expression (exported in the JSON Schema so that
    /// editors can check it; validation uses [`Quantity::milli_units`], which agrees with it).
    pub const PATTERN: &'static str =
        r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$";
}

impl JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Quantity").into()
    }

    /// A string (or a plain number) matching [`Quantity::PATTERN`].
    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Kubernetes quantity: a number with an optional suffix (binary Ki, Mi, Gi, Ti, Pi, Ei; decimal m, k, M, G, T, P, E; or an exponent), e.g. `512Mi`, `1.5Gi`, `250m`, `2`.",
            "type": ["string", "number"],
            "pattern": Quantity::PATTERN,
            "examples": ["512Mi", "1Gi", "250m", "2"]
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a Kubernetes quantity (examples: 512Mi, 1Gi, 250m, 2)")]
pub struct QuantityError {
    pub text: String,
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Int(i64),
            Float(f64),
        }
        Ok(Quantity(match Raw::deserialize(deserializer)? {
            Raw::Text(s) => s,
            Raw::Int(i) => i.to_string(),
            Raw::Float(f) => f.to_string(),
        }))
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// (numerator, denominator) multiplier of each suffix, relative to the base unit.
fn suffix_scale(suffix: &str) -> Option<(u128, u128)> {
    Some(match suffix {
        "" => (1, 1),
        "m" => (1, 1000),
        "k" => (1000, 1),
        "M" => (1000u128.pow(2), 1),
        "G" => (1000u128.pow(3), 1),
        "T" => (1000u128.pow(4), 1),
        "P" => (1000u128.pow(5), 1),
        "E" => (1000u128.pow(6), 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        _ => return None,
    })
}

impl Quantity {
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        let q = Quantity(text.to_string());
        q.milli_units()?;
        Ok(q)
    }

    /// The value in thousandths of the base unit (millicores for CPU, milli-bytes for memory),
    /// rounded up as Kubernetes does.
    pub fn milli_units(&self) -> Result<u128, QuantityError> {
        let err = || QuantityError {
            text: self.0.clone(),
        };
        let text = self.0.trim();
        let text = text.strip_prefix('+').unwrap_or(text);
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(split);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(err());
        }
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        // A suffix (`E` is exa, `Ei` exbi) takes precedence over a decimal exponent (`1e3`).
        let (num, den, exp10): (u128, u128, i32) = if let Some((n, d)) = suffix_scale(suffix) {
            (n, d, 0)
        } else {
            let exp = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))
                .ok_or_else(err)?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            let e: i32 = exp.parse().map_err(|_| err())?;
            (1, 1, e)
        };
        if frac_part.len() > 18 || int_part.len() > 24 {
            return Err(err());
        }
        let digits: u128 = format!("{int_part}{frac_part}")
            .parse::<u128>()
            .map_err(|_| err())?;
        // value = digits / 10^frac * num / den * 10^exp10 * 1000
        let mut numerator = digits
            .checked_mul(num)
            .ok_or_else(err)?
            .checked_mul(1000)
            .ok_or_else(err)?;
        let mut denominator = den
            .checked_mul(10u128.pow(frac_part.len() as u32))
            .ok_or_else(err)?;
        if exp10 >= 0 {
            numerator = numerator
                .checked_mul(10u128.checked_pow(exp10 as u32).ok_or_else(err)?)
                .ok_or_else(err)?;
        } else {
            denominator = denominator
                .checked_mul(10u128.checked_pow((-exp10) as u32).ok_or_else(err)?)
                .ok_or_else(err)?;
        }
        Ok(numerator.div_ceil(denominator))
    }

    /// Bytes, rounded up (memory and storage quantities).
    pub fn bytes(&self) -> Result<u64, QuantityError> {
        let milli = self.milli_units()?;
        u64::try_from(milli.div_ceil(1000)).map_err(|_| QuantityError {
            text: self.0.clone(),
        })
    }

    /// Millicores, rounded up (CPU quantities).
    pub fn millicores(&self) -> Result<u64, QuantityError> {
        u64::try_from(self.milli_units()?).map_err(|_| QuantityError {
            text: self.0.clone(),
        })
    }
}

/// Formats bytes the way people read memory sizes: whole Mi/Gi when exact.
pub fn format_bytes(bytes: u64) -> String {
    const GI: u64 = 1 << 30;
    const MI: u64 = 1 << 20;
    if bytes >= GI && bytes.is_multiple_of(GI) {
        format!("{}Gi", bytes / GI)
    } else if bytes.is_multiple_of(MI) {
        format!("{}Mi", bytes / MI)
    } else if bytes.is_multiple_of(1024) {
        format!("{}Ki", bytes / 1024)
    } else {
        bytes.to_string()
    }
}

/// Formats millicores as Kubernetes does (`250m`, `2`).
pub fn format_millicores(millicores: u64) -> String {
    if millicores.is_multiple_of(1000) {
        (millicores / 1000).to_string()
    } else {
        format!("{millicores}m")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity(s.to_string())
    }

    #[test]
    fn parses_memory_and_cpu() {
        assert_eq!(q("512Mi").bytes().unwrap(), 512 << 20);
        assert_eq!(q("1.5Gi").bytes().unwrap(), 3 << 29);
        assert_eq!(q("1G").bytes().unwrap(), 1_000_000_000);
        assert_eq!(q("250m").millicores().unwrap(), 250);
        assert_eq!(q("2").millicores().unwrap(), 2000);
        assert_eq!(q("0.5").millicores().unwrap(), 500);
        assert_eq!(q("1e3").millicores().unwrap(), 1_000_000);
        assert_eq!(q("1E").bytes().unwrap(), 1_000_000_000_000_000_000);
        assert_eq!(q("1Ei").bytes().unwrap(), 1 << 60);
        assert_eq!(q("5e-1").millicores().unwrap(), 500);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "Mi",
            "512MB",
            "5l2Mi",
            "1.2.3",
            "-1",
            "12 Mi",
            "1e",
            "1e+",
            "2Ex",
            "1e99999999999",
        ] {
            assert!(q(bad).milli_units().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_bytes(512 << 20), "512Mi");
        assert_eq!(format_bytes(16 << 30), "16Gi");
        assert_eq!(format_millicores(1500), "1500m");
        assert_eq!(format_millicores(3000), "3");
    }
}
