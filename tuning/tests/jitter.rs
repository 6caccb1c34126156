//! Structure of jitter results (no timing assertions: the machine is shared and noisy).

use std::time::Duration;

use kspin_tuning::jitter::{measure, JitterConfig, JitterError};

#[test]
fn measures_one_core_with_consistent_counts() {
    let core = core_affinity::get_core_ids().unwrap()[0].id;
    let cfg = JitterConfig {
        cores: vec![core],
        duration: Duration::from_millis(100),
        threshold_ns: 500,
    };
    let results = measure(&cfg).unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r.core, core);
    assert!(r.iterations > 0);
    assert!(r.elapsed_ns >= 100_000_000);
    // Every gap counted is at least the threshold, so their sum is too.
    assert!(r.gap_total_ns >= r.gaps * 500);
    assert!(r.gap_total_ns <= r.elapsed_ns);
    assert!(r.gaps <= r.iterations);
    if r.gaps == 0 {
        assert_eq!((r.p50_ns, r.p99_ns, r.p999_ns, r.max_ns), (0, 0, 0, 0));
    } else {
        assert!(r.p50_ns <= r.p99_ns && r.p99_ns <= r.p999_ns && r.p999_ns <= r.max_ns);
        // hdrhistogram keeps 3 significant digits, so the max may round down slightly.
        assert!(r.max_ns >= 495);
    }
}

#[test]
fn rejects_unknown_core() {
    let cfg = JitterConfig {
        cores: vec![100_000],
        duration: Duration::from_millis(1),
        threshold_ns: 500,
    };
    assert!(matches!(
        measure(&cfg),
        Err(JitterError::UnknownCore { core: 100_000, .. })
    ));
}
