//! Standard output, and files that hold secrets.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use super::Exit;

/// Standard output, locked; a closed pipe ends the command quietly (as `oathtool
/// -w 1000 KEY | head -1` ends), any other write error is reported.
pub(crate) struct Output {
    stdout: io::StdoutLock<'static>,
}

impl Output {
    pub(crate) fn new() -> Self {
        Self {
            stdout: io::stdout().lock(),
        }
    }

    /// Writes `text` as it is.
    pub(crate) fn text(&mut self, text: &str) -> Result<(), Exit> {
        self.stdout.write_all(text.as_bytes()).map_err(write_error)
    }

    /// Writes `text` and a newline.
    pub(crate) fn line(&mut self, text: &str) -> Result<(), Exit> {
        self.text(text)?;
        self.text("\n")
    }

    /// Flushes (before reading the terminal, or at the end).
    pub(crate) fn flush(&mut self) -> Result<(), Exit> {
        self.stdout.flush().map_err(write_error)
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        let _ = self.stdout.flush();
    }
}

fn write_error(error: io::Error) -> Exit {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Exit::quiet(0)
    } else {
        Exit::error(format!("cannot write to standard output: {error}"))
    }
}

/// Creates `path` for a file that holds secrets: it must not exist yet (nothing is
/// overwritten), and on Unix only its owner may read it (mode 0600).
pub(crate) fn create_private(path: &Path) -> Result<File, Exit> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|error| {
        Exit::error(format!(
            "cannot create {}: {error}{}",
            path.display(),
            if error.kind() == io::ErrorKind::AlreadyExists {
                " (files with secrets are never overwritten)"
            } else {
                ""
            }
        ))
    })
}

/// Writes `bytes` to a new private file (see [`create_private`]).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Exit> {
    let mut file = create_private(path)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|error| Exit::error(format!("cannot write {}: {error}", path.display())))
}
