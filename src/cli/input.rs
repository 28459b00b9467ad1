//! Values read from the command line, standard input, files or the environment.

use std::fs::File;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::Exit;

/// At most this many bytes are read from a file that holds a secret or an argument
/// (`@FILE`, `--sealing-key-file`, `--psk-file`, `--password-file`): such a file holds
/// a line or two, so anything longer is not one.
pub(crate) const MAX_SECRET_FILE_BYTES: usize = 64 * 1024;

/// At most this many characters of a value the user gave are quoted back in a
/// message, as the library's errors quote (a 128 KB argument is not echoed whole).
const QUOTE_LIMIT: usize = 40;

/// `text` quoted for a message: at most [`QUOTE_LIMIT`] characters, escaped as Rust
/// escapes a string's `Debug`, and its length when it was cut.
pub(crate) fn quote(text: &str) -> String {
    let shown: String = text.chars().take(QUOTE_LIMIT).collect();
    if shown.len() == text.len() {
        format!("{shown:?}")
    } else {
        format!("{shown:?}... ({} characters)", text.chars().count())
    }
}

/// Opens `path` for reading, refusing anything but a regular file.
///
/// The open itself must not block: a FIFO with no writer blocks `open(2)` forever
/// unless `O_NONBLOCK` is given, so the file is opened non-blocking, and its type is
/// checked on the opened handle (not on the path, which could be swapped between a
/// check and the open). A regular file's reads ignore `O_NONBLOCK`.
pub(crate) fn open_regular(path: &Path, what: &str) -> Result<File, Exit> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|error| {
        Exit::error(format!(
            "cannot open {} for the {what}: {error}",
            path.display()
        ))
    })?;
    let metadata = file.metadata().map_err(|error| {
        Exit::error(format!(
            "cannot read the {what} from {}: {error}",
            path.display()
        ))
    })?;
    if !metadata.is_file() {
        return Err(Exit::error(format!(
            "{} is not a regular file (the {what} is read from regular files only)",
            path.display()
        )));
    }
    Ok(file)
}

/// The whole of an opened file, refused when it has more than `limit` bytes.
///
/// The bound is on the bytes actually read, not on the length the file system
/// reports (which is 0 for devices and pipes, and can change while reading).
pub(crate) fn read_bounded(
    mut file: File,
    path: &Path,
    what: &str,
    limit: usize,
) -> Result<Zeroizing<Vec<u8>>, Exit> {
    let mut bytes = Zeroizing::new(Vec::new());
    let read_limit = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    (&mut file)
        .take(read_limit)
        .read_to_end(&mut bytes)
        .map_err(|error| {
            Exit::error(format!(
                "cannot read the {what} from {}: {error}",
                path.display()
            ))
        })?;
    if bytes.len() > limit {
        return Err(Exit::error(format!(
            "{} has more than {limit} bytes, more than a file for the {what} may have",
            path.display()
        )));
    }
    Ok(bytes)
}

/// The whole of the regular file at `path` (see [`open_regular`]), at most `limit`
/// bytes (see [`read_bounded`]): the one way the tool reads a file.
pub(crate) fn read_file(path: &Path, what: &str, limit: usize) -> Result<Zeroizing<Vec<u8>>, Exit> {
    read_bounded(open_regular(path, what)?, path, what, limit)
}

/// The text of a small file, at most [`MAX_SECRET_FILE_BYTES`], as UTF-8.
fn read_text_file(file: File, path: &Path, what: &str) -> Result<Zeroizing<String>, Exit> {
    let bytes = read_bounded(file, path, what, MAX_SECRET_FILE_BYTES)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Exit::error(format!(
            "the {what} in {} is not UTF-8 text",
            path.display()
        ))
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Reads `oathtool`'s KEY and OTP arguments: `-` is the next line of standard input,
/// `@FILE` the next line of FILE (both arguments may name the same file, and then
/// read its first and second lines), anything else is the value itself.
#[derive(Default)]
pub(crate) struct ArgumentReader {
    /// The file read last: its path, its text (read whole, within the bound), and
    /// how many bytes of it the lines read so far took.
    file: Option<(PathBuf, Zeroizing<String>, usize)>,
}

impl ArgumentReader {
    pub(crate) fn read(&mut self, argument: &str, what: &str) -> Result<Zeroizing<String>, Exit> {
        if argument == "-" {
            // Standard input is bounded too: a line longer than any key is refused
            // instead of filling memory (`otpfob hotp - < /dev/zero`).
            let mut line = Zeroizing::new(Vec::new());
            let limit = u64::try_from(MAX_SECRET_FILE_BYTES).unwrap_or(u64::MAX);
            std::io::stdin()
                .lock()
                .take(limit + 1)
                .read_until(b'\n', &mut line)
                .map_err(|error| Exit::error(format!("cannot read the {what}: {error}")))?;
            if line.len() > MAX_SECRET_FILE_BYTES {
                return Err(Exit::error(format!(
                    "the {what} on standard input is longer than {MAX_SECRET_FILE_BYTES} bytes"
                )));
            }
            let line = std::str::from_utf8(&line).map_err(|_| {
                Exit::error(format!("the {what} on standard input is not UTF-8 text"))
            })?;
            return Ok(trim_line(Zeroizing::new(line.to_owned())));
        }
        let Some(path) = argument.strip_prefix('@') else {
            return Ok(Zeroizing::new(argument.to_owned()));
        };
        let path = Path::new(path);
        let same = matches!(&self.file, Some((open, _, _)) if open == path);
        if !same {
            let text = read_text_file(open_regular(path, what)?, path, what)?;
            self.file = Some((path.to_owned(), text, 0));
        }
        let Some((_, text, position)) = self.file.as_mut() else {
            return Err(Exit::error(format!("cannot read the {what}")));
        };
        let rest = text.get(*position..).unwrap_or("");
        if rest.is_empty() {
            return Err(Exit::error(format!(
                "{} has no line left for the {what}",
                path.display()
            )));
        }
        let length = rest.find('\n').map_or(rest.len(), |end| end + 1);
        let line = Zeroizing::new(rest.get(..length).unwrap_or(rest).to_owned());
        *position += length;
        Ok(trim_line(line))
    }
}

/// The line without its line ending.
fn trim_line(mut line: Zeroizing<String>) -> Zeroizing<String> {
    while line.ends_with('\n') || line.ends_with('\r') {
        line.pop();
    }
    line
}

/// The text of a file that holds a secret, without surrounding white space: a
/// regular file of at most [`MAX_SECRET_FILE_BYTES`].
pub(crate) fn read_secret_file(path: &Path, what: &str) -> Result<Zeroizing<String>, Exit> {
    let text = read_text_file(open_regular(path, what)?, path, what)?;
    Ok(Zeroizing::new(text.trim().to_owned()))
}

/// As [`read_secret_file`], for a file that only its owner may read or write (as
/// ssh refuses private keys that others may read): the mode is checked on the
/// opened handle, the one that is read.
pub(crate) fn read_private_secret_file(path: &Path, what: &str) -> Result<Zeroizing<String>, Exit> {
    let file = open_regular(path, what)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = file.metadata().map_err(|error| {
            Exit::error(format!(
                "cannot read the {what} {}: {error}",
                path.display()
            ))
        })?;
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(Exit::error(format!(
                "the {what} file {} is open to other users (mode {:o}): chmod 600 it",
                path.display(),
                mode & 0o777
            )));
        }
    }
    let text = read_text_file(file, path, what)?;
    Ok(Zeroizing::new(text.trim().to_owned()))
}

/// The value of an environment variable that holds a secret.
pub(crate) fn read_secret_variable(name: &str, what: &str) -> Result<Zeroizing<String>, Exit> {
    match std::env::var(name) {
        Ok(value) => Ok(Zeroizing::new(value)),
        Err(std::env::VarError::NotPresent) => Err(Exit::error(format!(
            "the {what} variable {name} is not set"
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(Exit::error(format!(
            "the {what} variable {name} is not valid UTF-8"
        ))),
    }
}
