//! Values read from the command line, standard input, files or the environment.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::Exit;

/// Reads `oathtool`'s KEY and OTP arguments: `-` is the next line of standard input,
/// `@FILE` the next line of FILE (both arguments may name the same file, and then
/// read its first and second lines), anything else is the value itself.
#[derive(Default)]
pub(crate) struct ArgumentReader {
    file: Option<(PathBuf, BufReader<File>)>,
}

impl ArgumentReader {
    pub(crate) fn read(&mut self, argument: &str, what: &str) -> Result<Zeroizing<String>, Exit> {
        if argument == "-" {
            let mut line = Zeroizing::new(String::new());
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|error| Exit::error(format!("cannot read the {what}: {error}")))?;
            return Ok(trim_line(line));
        }
        let Some(path) = argument.strip_prefix('@') else {
            return Ok(Zeroizing::new(argument.to_owned()));
        };
        let path = Path::new(path);
        let same = matches!(&self.file, Some((open, _)) if open == path);
        if !same {
            let file = File::open(path).map_err(|error| {
                Exit::error(format!(
                    "cannot open {} for the {what}: {error}",
                    path.display()
                ))
            })?;
            self.file = Some((path.to_owned(), BufReader::new(file)));
        }
        let mut line = Zeroizing::new(String::new());
        if let Some((_, reader)) = self.file.as_mut() {
            let read = reader.read_line(&mut line).map_err(|error| {
                Exit::error(format!(
                    "cannot read the {what} from {}: {error}",
                    path.display()
                ))
            })?;
            if read == 0 {
                return Err(Exit::error(format!(
                    "{} has no line left for the {what}",
                    path.display()
                )));
            }
        }
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

/// The text of a file that holds a secret, without surrounding white space.
pub(crate) fn read_secret_file(path: &Path, what: &str) -> Result<Zeroizing<String>, Exit> {
    let mut text = Zeroizing::new(String::new());
    File::open(path)
        .and_then(|mut file| file.read_to_string(&mut text))
        .map_err(|error| {
            Exit::error(format!(
                "cannot read the {what} from {}: {error}",
                path.display()
            ))
        })?;
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

/// Refuses a file that holds a secret and that others than its owner may read or
/// write (as ssh refuses such private keys).
pub(crate) fn check_private(path: &Path, what: &str) -> Result<(), Exit> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = std::fs::metadata(path).map_err(|error| {
            Exit::error(format!(
                "cannot read the {what} {}: {error}",
                path.display()
            ))
        })?;
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(Exit::error(format!(
                "the {what} {} is open to other users (mode {:o}): chmod 600 it",
                path.display(),
                mode & 0o777
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, what);
    Ok(())
}
