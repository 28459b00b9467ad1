//! Standard error held shut while a C library runs: libxmlsec1 and libxml2 print
//! their own reports of a failed verification there (`func=xmlSecOpenSSLEvpDigestVerify:
//! ...`), in lines of their own, and the tool's promise is one line per failure. The
//! typed error the library returns says what failed; their lines add nothing a bank's
//! operator can act on.

use std::fs::File;
use std::os::fd::OwnedFd;

/// Runs `work` with file descriptor 2 on `/dev/null`, and puts the old standard error
/// back when `work` returns. If the descriptors cannot be moved, `work` runs with
/// standard error as it is (the extra lines are a nuisance, not a danger). A panic
/// inside `work` still exits with status 2, but its one line is lost: the CLI's panic
/// hook writes it before the unwinding that would restore standard error.
pub(crate) fn without_stderr<T>(work: impl FnOnce() -> T) -> T {
    let _restore = Silenced::start();
    work()
}

/// The standard error to put back when dropped.
struct Silenced {
    saved: OwnedFd,
}

impl Silenced {
    fn start() -> Option<Self> {
        let saved = rustix::io::dup(rustix::stdio::stderr()).ok()?;
        let null = File::options().write(true).open("/dev/null").ok()?;
        rustix::stdio::dup2_stderr(&null).ok()?;
        Some(Self { saved })
    }
}

impl Drop for Silenced {
    fn drop(&mut self) {
        // Nowhere to report a failure to restore: standard error is the place.
        let _ = rustix::stdio::dup2_stderr(&self.saved);
    }
}
