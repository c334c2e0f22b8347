//! Replicas needed to serve a demand: the one rounding rule every policy and the simulator share.

/// Relative slack so that `ceil(3.0000000000001)` caused by float noise does not add a replica.
const ROUNDING_SLACK: f64 = 1e-9;

/// Smallest replica count whose capacity `per_replica` each covers `demand`
/// (`ceil(demand / per_replica)`); 0 for non-positive demand or a non-positive/non-finite capacity.
pub fn replicas_for(demand: f64, per_replica: f64) -> u32 {
    if demand.is_nan()
        || demand <= 0.0
        || per_replica.is_nan()
        || per_replica <= 0.0
        || !per_replica.is_finite()
    {
        return 0;
    }
    let ratio = demand / per_replica;
    if !ratio.is_finite() {
        return u32::MAX;
    }
    let r = (ratio * (1.0 - ROUNDING_SLACK)).ceil();
    if r >= u32::MAX as f64 {
        u32::MAX
    } else {
        r as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_exactly() {
        assert_eq!(replicas_for(10.0, 5.0), 2);
        assert_eq!(replicas_for(10.1, 5.0), 3);
        assert_eq!(replicas_for(0.3, 0.1), 3); // 0.3/0.1 = 2.9999999999999996
        assert_eq!(replicas_for(0.0, 5.0), 0);
        assert_eq!(replicas_for(-1.0, 5.0), 0);
        assert_eq!(replicas_for(1.0, 0.0), 0);
        assert_eq!(replicas_for(f64::NAN, 1.0), 0);
    }
}
