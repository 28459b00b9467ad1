//! The hash functions under HMAC that RFC 4226, RFC 6238 and RFC 6287 allow.

use core::fmt;
use core::str::FromStr;

/// The hash function under HMAC: SHA-1 (RFC 4226), or SHA-256 and SHA-512 (RFC 6238).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA-1, the RFC 4226 default and what nearly every fob and app uses.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// Every algorithm, for tests and tools that iterate over them.
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

    /// The HMAC output length in bytes.
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    /// The name used in key URIs and by `oathtool`: `SHA1`, `SHA256`, `SHA512`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The name given to [`Algorithm::from_str`] was not one it knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown algorithm {name:?}: expected SHA1, SHA256 or SHA512")]
#[non_exhaustive]
pub struct UnknownAlgorithm {
    /// The name given.
    pub name: String,
}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Accepts `SHA1`, `SHA256`, `SHA512` in any case, with or without a dash
    /// (`sha-256`), as key URIs, PSKC files and `oathtool` spell them.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let squeezed: String = name
            .chars()
            .filter(|character| *character != '-')
            .map(|character| character.to_ascii_uppercase())
            .collect();
        match squeezed.as_str() {
            "SHA1" => Ok(Algorithm::Sha1),
            "SHA256" => Ok(Algorithm::Sha256),
            "SHA512" => Ok(Algorithm::Sha512),
            _ => Err(UnknownAlgorithm {
                name: name.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_parse_back() {
        for algorithm in Algorithm::ALL {
            assert_eq!(algorithm.name().parse::<Algorithm>().unwrap(), algorithm);
        }
        assert_eq!("sha-256".parse::<Algorithm>().unwrap(), Algorithm::Sha256);
        assert!("md5".parse::<Algorithm>().is_err());
    }
}
