//! Generating a code and checking a ±1 step window make no heap allocation.
//!
//! `allocation-counter` installs a counting global allocator in this test binary only
//! and counts per thread, so other tests running in parallel do not disturb it.

use otpfob::{
    Algorithm, Code, Hotp, HotpParameters, ManualClock, Secret, Totp, TotpParameters, Window,
};

fn assert_no_allocation(what: &str, work: impl FnOnce()) {
    let info = allocation_counter::measure(work);
    assert_eq!(info.count_total, 0, "{what} allocated {info:?}");
}

#[test]
fn generation_and_window_checks_do_not_allocate() {
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let clock = ManualClock::at_secs(1_111_111_109);
    for algorithm in Algorithm::ALL {
        let hotp = Hotp::new(
            &secret,
            HotpParameters {
                algorithm,
                digits: 8,
            },
        )
        .unwrap();
        let totp = Totp::new(
            &secret,
            TotpParameters {
                algorithm,
                ..TotpParameters::default()
            },
        )
        .unwrap();
        let right = totp.at(1_111_111_109).unwrap();
        let wrong = Code::new((right.value() + 1) % 1_000_000, 6).unwrap();

        assert_no_allocation("HOTP generation", || {
            let _ = std::hint::black_box(hotp.at(std::hint::black_box(7)));
        });
        assert_no_allocation("TOTP generation", || {
            let _ = std::hint::black_box(totp.at(1_111_111_109).unwrap());
            let _ = std::hint::black_box(totp.now(&clock).unwrap());
        });
        assert_no_allocation("a ±1 window that matches", || {
            assert!(
                totp.verify(&right, 1_111_111_109, Window::symmetric(1))
                    .is_ok()
            );
        });
        assert_no_allocation("a ±1 window that misses", || {
            let _ = std::hint::black_box(totp.verify(&wrong, 1_111_111_109, Window::symmetric(1)));
        });
        assert_no_allocation("parsing a typed code", || {
            let _ = std::hint::black_box(Code::parse("123 456", 6).unwrap());
        });
    }
}

#[test]
fn the_counter_sees_allocations() {
    // The guard against a test that cannot fail: the same measurement does see a
    // heap allocation when there is one.
    let info = allocation_counter::measure(|| {
        std::hint::black_box(vec![1u8; 16]);
    });
    assert!(info.count_total >= 1);
}
