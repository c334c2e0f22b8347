//! Replicas needed to serve a demand: the one rounding rule every policy and the simulator share.
//! The result always covers the demand exactly as the simulator tests it (`count × per_replica >=
//! demand`), so a policy that asks for `replicas_for(demand)` is never counted under-provisioned.

/// Relative slack so that `ceil(3.0000000000001)` caused by float noise does not add a replica
/// (unless the product really falls short of the demand).
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
    let mut r = (ratio * (1.0 - ROUNDING_SLACK)).ceil();
    // The slack must never leave the demand uncovered under the simulator's own test
    // (`demand > per_replica × ready`): when `demand` is a hair above `r × per_replica`, add one.
    if r * per_replica < demand {
        r += 1.0;
    }
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
                                               // 0.7 / 0.1 = 7.000000000000001 and 7 × 0.1 = 0.7000000000000001 >= 0.7: 7 suffices.
        assert_eq!(replicas_for(0.7, 0.1), 7);
        // Whatever the float noise, the count covers the demand.
        for k in 1..200u32 {
            let c = 0.37 + f64::from(k) * 1e-3;
            let d = f64::from(k) * c * (1.0 + 1e-12);
            assert!(f64::from(replicas_for(d, c)) * c >= d, "k {k}");
        }
        assert_eq!(replicas_for(0.0, 5.0), 0);
        assert_eq!(replicas_for(-1.0, 5.0), 0);
        assert_eq!(replicas_for(1.0, 0.0), 0);
        assert_eq!(replicas_for(f64::NAN, 1.0), 0);
    }
}
