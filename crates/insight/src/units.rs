//! Sizes for people: decimal units, as registries and `docker images` show
//! them.

/// `0 B`, `999 B`, `1.2 kB`, `74.1 MB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A signed change: `+1.2 kB`, `-300 B`, `0 B`.
pub fn human_delta(delta: i128) -> String {
    let magnitude = human(u64::try_from(delta.unsigned_abs()).unwrap_or(u64::MAX));
    match delta.signum() {
        1 => format!("+{magnitude}"),
        -1 => format!("-{magnitude}"),
        _ => magnitude,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_units() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(999), "999 B");
        assert_eq!(human(1234), "1.2 kB");
        assert_eq!(human(74_100_000), "74.1 MB");
        assert_eq!(human_delta(-1500), "-1.5 kB");
        assert_eq!(human_delta(12), "+12 B");
    }
}
