//! Kubernetes resource quantities: CPU millicores and memory bytes to and from strings like `500m`, `1.5`, `256Mi`.

use crate::error::KubeError;

/// Formats CPU millicores the way `kubectl` shows them: whole cores as `2`, otherwise `250m`.
pub fn format_cpu_millis(millis: u64) -> String {
    if millis.is_multiple_of(1000) {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

/// Formats bytes with the largest binary suffix that divides them exactly (`Gi`, `Mi`, `Ki`), else plain bytes.
pub fn format_memory_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("Ti", 1 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ];
    if bytes == 0 {
        return "0".to_string();
    }
    for (suffix, size) in UNITS {
        if bytes.is_multiple_of(size) {
            return format!("{}{suffix}", bytes / size);
        }
    }
    bytes.to_string()
}

/// Parses a quantity into its value in base units (cores for CPU, bytes for memory).
pub fn parse_quantity(field: &str, text: &str) -> Result<f64, KubeError> {
    let bad = || KubeError::Quantity {
        field: field.to_string(),
        value: text.to_string(),
    };
    let s = text.trim();
    const SUFFIXES: [(&str, f64); 14] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
    ];
    let (number, factor) = SUFFIXES
        .iter()
        .find_map(|(suffix, f)| s.strip_suffix(suffix).map(|n| (n, *f)))
        .or_else(|| s.strip_suffix('E').map(|n| (n, 1e18)))
        .unwrap_or((s, 1.0));
    if number.is_empty() || number.starts_with('-') {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let scaled = value * factor;
    if scaled.is_finite() && scaled >= 0.0 {
        Ok(scaled)
    } else {
        Err(bad())
    }
}

/// Parses a CPU quantity into millicores, rounding up (Kubernetes rounds sub-milli CPU up too).
pub fn parse_cpu_millis(text: &str) -> Result<u64, KubeError> {
    let cores = parse_quantity("cpu", text)?;
    Ok((cores * 1000.0 - 1e-9).ceil().max(0.0) as u64)
}

/// Parses a memory quantity into bytes, rounding up.
pub fn parse_memory_bytes(text: &str) -> Result<u64, KubeError> {
    let bytes = parse_quantity("memory", text)?;
    Ok((bytes - 1e-9).ceil().max(0.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_known_answers() {
        assert_eq!(format_cpu_millis(250), "250m");
        assert_eq!(format_cpu_millis(2000), "2");
        assert_eq!(parse_cpu_millis("250m").unwrap(), 250);
        assert_eq!(parse_cpu_millis("1.5").unwrap(), 1500);
        assert_eq!(parse_cpu_millis("2").unwrap(), 2000);
        assert_eq!(parse_cpu_millis("100000u").unwrap(), 100);
        assert_eq!(parse_cpu_millis("1e-1").unwrap(), 100);
    }

    #[test]
    fn memory_known_answers() {
        assert_eq!(format_memory_bytes(256 << 20), "256Mi");
        assert_eq!(format_memory_bytes(3 << 30), "3Gi");
        assert_eq!(format_memory_bytes(1000), "1000");
        assert_eq!(parse_memory_bytes("256Mi").unwrap(), 256 << 20);
        assert_eq!(parse_memory_bytes("1G").unwrap(), 1_000_000_000);
        assert_eq!(parse_memory_bytes("128974848").unwrap(), 128_974_848);
        assert_eq!(parse_memory_bytes("1.5Gi").unwrap(), 3 << 29);
    }

    #[test]
    fn format_then_parse_is_identity() {
        for m in [1u64, 999, 1000, 1001, 64_000] {
            assert_eq!(parse_cpu_millis(&format_cpu_millis(m)).unwrap(), m);
        }
        for b in [0u64, 1, 1023, 1024, 5 << 20, (7 << 30) + 1] {
            assert_eq!(parse_memory_bytes(&format_memory_bytes(b)).unwrap(), b);
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "m", "-1", "abc", "1Zi", "NaN"] {
            assert!(parse_quantity("cpu", bad).is_err(), "{bad:?}");
        }
    }
}
