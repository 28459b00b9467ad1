//! HMAC (RFC 2104) with the keyed states computed once per key, over the compression
//! functions of the RustCrypto `sha1` and `sha2` crates.
//!
//! Why not `hmac::Hmac` itself: its streaming buffer costs nearly as much as the two
//! compressions an 8-byte counter needs (measured: 1.9x the floor of two SHA-1
//! compressions, against 1.3x for the block-level code here). HMAC over a
//! Merkle–Damgård hash is two padded hashes, so only the padding is written here; the
//! compression functions are the crates', and a property test checks every algorithm,
//! key length and message length against `hmac::Hmac`.

use core::fmt;

use sha1::Digest;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::algorithm::Algorithm;

/// The largest HMAC output, SHA-512's.
const MAX_OUTPUT_LEN: usize = 64;

/// RFC 2104 §2: the bytes XORed into the key for the inner and outer hashes.
const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;

/// The chaining state of one Merkle–Damgård hash function.
trait ChainingState: Copy + Zeroize {
    /// The initial hash value (FIPS 180-4 §5.3).
    const INITIAL: Self;
    /// One message block, all zeros in `ZERO_BLOCK`.
    type Block: Copy + AsRef<[u8]> + AsMut<[u8]> + Zeroize;
    /// A block of zeros.
    const ZERO_BLOCK: Self::Block;
    /// Bytes per message block.
    const BLOCK_LEN: usize;
    /// Bytes of the message-length field in the last block.
    const LENGTH_FIELD_LEN: usize;
    /// Bytes of output.
    const OUTPUT_LEN: usize;
    /// Compresses one block into the state.
    fn compress(&mut self, block: &Self::Block);
    /// Writes the big-endian digest into the first `OUTPUT_LEN` bytes of `output`.
    fn write_digest(&self, output: &mut [u8]);
    /// Byte `index` of the big-endian digest, read from the state words without a
    /// round trip through memory.
    fn digest_byte(&self, index: usize) -> u8;
    /// The digest of `message`, for keys longer than a block (RFC 2104 §2).
    fn hash(message: &[u8], output: &mut [u8; MAX_OUTPUT_LEN]);
}

#[derive(Clone, Copy, Zeroize)]
struct Sha1State([u32; 5]);

#[derive(Clone, Copy, Zeroize)]
struct Sha256State([u32; 8]);

#[derive(Clone, Copy, Zeroize)]
struct Sha512State([u64; 8]);

fn write_words<const W: usize>(words: impl Iterator<Item = [u8; W]>, output: &mut [u8]) {
    for (chunk, word) in output.chunks_exact_mut(W).zip(words) {
        chunk.copy_from_slice(&word);
    }
}

/// One `ChainingState` impl from what differs between the SHA-1, SHA-256 and SHA-512
/// states: their word, block and length-field sizes, their initial values, their
/// compression function and (for hashing a long key) their hash. A macro rather than a
/// generic over `digest`'s traits, so that each impl stays as monomorphic and inlinable
/// as the hand-written ones it replaced (the benches in `benches/otp.rs` hold it).
macro_rules! chaining_state {
    (
        $state:ident, word: $word:ty, block: $block:literal, length_field: $length_field:literal,
        output: $output:literal, compress: $compress:path, hash: $hash:ty,
        initial: [$($initial:expr),+ $(,)?] $(,)?
    ) => {
        impl ChainingState for $state {
            type Block = [u8; $block];
            const ZERO_BLOCK: Self::Block = [0; $block];
            const INITIAL: Self = $state([$($initial),+]);
            const BLOCK_LEN: usize = $block;
            const LENGTH_FIELD_LEN: usize = $length_field;
            const OUTPUT_LEN: usize = $output;

            fn compress(&mut self, block: &Self::Block) {
                $compress(&mut self.0, core::array::from_ref(block));
            }

            fn write_digest(&self, output: &mut [u8]) {
                write_words(self.0.iter().map(|word| word.to_be_bytes()), output);
            }

            fn digest_byte(&self, index: usize) -> u8 {
                const WORD_BYTES: usize = core::mem::size_of::<$word>();
                let word = self.0.get(index / WORD_BYTES).copied().unwrap_or(0);
                (word >> (8 * (WORD_BYTES - 1) - 8 * (index % WORD_BYTES))) as u8
            }

            fn hash(message: &[u8], output: &mut [u8; MAX_OUTPUT_LEN]) {
                output[..Self::OUTPUT_LEN].copy_from_slice(&<$hash>::digest(message));
            }
        }
    };
}

chaining_state!(
    Sha1State, word: u32, block: 64, length_field: 8, output: 20,
    compress: sha1::block_api::compress, hash: sha1::Sha1,
    initial: [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476, 0xc3d2_e1f0],
);

chaining_state!(
    Sha256State, word: u32, block: 64, length_field: 8, output: 32,
    compress: sha2::block_api::compress256, hash: sha2::Sha256,
    initial: [
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a,
        0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
    ],
);

chaining_state!(
    Sha512State, word: u64, block: 128, length_field: 16, output: 64,
    compress: sha2::block_api::compress512, hash: sha2::Sha512,
    initial: [
        0x6a09_e667_f3bc_c908, 0xbb67_ae85_84ca_a73b, 0x3c6e_f372_fe94_f82b,
        0xa54f_f53a_5f1d_36f1, 0x510e_527f_ade6_82d1, 0x9b05_688c_2b3e_6c1f,
        0x1f83_d9ab_fb41_bd6b, 0x5be0_cd19_137e_2179,
    ],
);

/// The two chaining states after the `key ⊕ ipad` and `key ⊕ opad` blocks.
#[derive(Clone, Copy, Zeroize)]
struct KeyedPair<S: ChainingState> {
    inner: S,
    outer: S,
}

impl<S: ChainingState> KeyedPair<S> {
    fn new(key: &[u8]) -> Self {
        // RFC 2104 §2: a key longer than a block is hashed first; the key is then
        // padded with zeros to a block and XORed with ipad and opad.
        let mut padded_key = S::ZERO_BLOCK;
        if key.len() > S::BLOCK_LEN {
            let mut digest = [0u8; MAX_OUTPUT_LEN];
            S::hash(key, &mut digest);
            padded_key.as_mut()[..S::OUTPUT_LEN].copy_from_slice(&digest[..S::OUTPUT_LEN]);
            digest.zeroize();
        } else {
            padded_key.as_mut()[..key.len()].copy_from_slice(key);
        }
        let mut block = S::ZERO_BLOCK;
        let mut pair = Self {
            inner: S::INITIAL,
            outer: S::INITIAL,
        };
        for (target, pad) in [(&mut pair.inner, IPAD), (&mut pair.outer, OPAD)] {
            for (byte, key_byte) in block.as_mut().iter_mut().zip(padded_key.as_ref()) {
                *byte = key_byte ^ pad;
            }
            target.compress(&block);
        }
        block.zeroize();
        padded_key.zeroize();
        pair
    }

    /// HMAC of an 8-byte big-endian counter, the HOTP message: one padded block for
    /// the inner hash, one for the outer, laid out directly.
    fn mac_counter(&self, counter: u64, output: &mut [u8; MAX_OUTPUT_LEN]) {
        let mut block = S::ZERO_BLOCK;
        let bytes = block.as_mut();
        bytes[..8].copy_from_slice(&counter.to_be_bytes());
        bytes[8] = 0x80;
        write_length::<S>(bytes, 8);
        let mut inner = self.inner;
        inner.compress(&block);
        self.finish_outer(&inner, output);
    }

    /// RFC 4226 dynamic truncation of the HMAC of `counter`, read straight from the
    /// outer state: the HOTP hot path, with no digest written to memory.
    fn truncated_counter(&self, counter: u64) -> u32 {
        let mut block = S::ZERO_BLOCK;
        let bytes = block.as_mut();
        bytes[..8].copy_from_slice(&counter.to_be_bytes());
        bytes[8] = 0x80;
        write_length::<S>(bytes, 8);
        let mut inner = self.inner;
        inner.compress(&block);
        let outer = self.outer_state(&inner);
        let offset = usize::from(outer.digest_byte(S::OUTPUT_LEN - 1) & 0x0f);
        u32::from_be_bytes([
            outer.digest_byte(offset) & 0x7f,
            outer.digest_byte(offset + 1),
            outer.digest_byte(offset + 2),
            outer.digest_byte(offset + 3),
        ])
    }

    /// HMAC of the concatenation of `parts`.
    fn mac(&self, parts: &[&[u8]], output: &mut [u8; MAX_OUTPUT_LEN]) {
        let mut inner = self.inner;
        let mut block = S::ZERO_BLOCK;
        let mut filled = 0;
        let mut message_len = 0u64;
        for part in parts {
            message_len = message_len.wrapping_add(part.len() as u64);
            let mut rest = *part;
            while !rest.is_empty() {
                let take = rest.len().min(S::BLOCK_LEN - filled);
                let (now, later) = rest.split_at(take);
                block.as_mut()[filled..filled + take].copy_from_slice(now);
                filled += take;
                rest = later;
                if filled == S::BLOCK_LEN {
                    inner.compress(&block);
                    filled = 0;
                }
            }
        }
        // FIPS 180-4 §5.1: a one bit, zeros, and the length, in a second block if the
        // length field no longer fits in this one.
        let bytes = block.as_mut();
        bytes[filled] = 0x80;
        bytes[filled + 1..].fill(0);
        if filled + 1 + S::LENGTH_FIELD_LEN > S::BLOCK_LEN {
            inner.compress(&block);
            block = S::ZERO_BLOCK;
        }
        write_length::<S>(block.as_mut(), message_len);
        inner.compress(&block);
        self.finish_outer(&inner, output);
    }

    /// The outer hash over the inner digest, written to `output`.
    fn finish_outer(&self, inner: &S, output: &mut [u8; MAX_OUTPUT_LEN]) {
        self.outer_state(inner).write_digest(output);
    }

    /// The outer state after hashing the inner digest, which always fits one block.
    fn outer_state(&self, inner: &S) -> S {
        let mut block = S::ZERO_BLOCK;
        let bytes = block.as_mut();
        inner.write_digest(bytes);
        bytes[S::OUTPUT_LEN] = 0x80;
        write_length::<S>(bytes, S::OUTPUT_LEN as u64);
        let mut outer = self.outer;
        outer.compress(&block);
        outer
    }
}

/// Writes the bit length of a message of `message_len` bytes that follows the one
/// keyed block into the end of `block` (FIPS 180-4 §5.1).
fn write_length<S: ChainingState>(block: &mut [u8], message_len: u64) {
    let bits = (u128::from(message_len) + S::BLOCK_LEN as u128) * 8;
    let length = bits.to_be_bytes();
    block[S::BLOCK_LEN - S::LENGTH_FIELD_LEN..]
        .copy_from_slice(&length[16 - S::LENGTH_FIELD_LEN..]);
}

/// An HMAC output held on the stack, as long as its algorithm's output.
#[derive(Clone, Copy)]
pub struct MacOutput {
    bytes: [u8; MAX_OUTPUT_LEN],
    len: usize,
}

impl AsRef<[u8]> for MacOutput {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Debug for MacOutput {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("MacOutput(")?;
        for byte in self.as_ref() {
            write!(formatter, "{byte:02x}")?;
        }
        formatter.write_str(")")
    }
}

/// An HMAC key whose inner and outer padded blocks have already been hashed.
///
/// RFC 2104 HMAC hashes `key ⊕ ipad` and `key ⊕ opad` before any message; those two
/// compressions depend only on the key, so they are done once here. A message that
/// fits in one block with its padding (an 8-byte counter) then costs two
/// compressions, the least possible, and no heap allocation.
///
/// # Security
///
/// The precomputed states are as good as the key: they are zeroized on drop and
/// `Debug` prints only the algorithm.
///
/// ```
/// use otpfob::{Algorithm, mac::KeyedMac};
///
/// // RFC 2202 test case 2.
/// let key = KeyedMac::new(Algorithm::Sha1, b"Jefe");
/// let mac = key.mac(&[b"what do ya want ", b"for nothing?"]);
/// assert_eq!(format!("{mac:?}"), "MacOutput(effcdf6ae5eb2fa2d27416d5f184df9c259a7c79)");
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyedMac {
    state: KeyedState,
}

#[derive(Clone, Zeroize)]
enum KeyedState {
    Sha1(KeyedPair<Sha1State>),
    Sha256(KeyedPair<Sha256State>),
    Sha512(KeyedPair<Sha512State>),
}

impl KeyedMac {
    /// Precomputes the keyed HMAC states for `key` under `algorithm`.
    #[must_use]
    pub fn new(algorithm: Algorithm, key: &[u8]) -> Self {
        let state = match algorithm {
            Algorithm::Sha1 => KeyedState::Sha1(KeyedPair::new(key)),
            Algorithm::Sha256 => KeyedState::Sha256(KeyedPair::new(key)),
            Algorithm::Sha512 => KeyedState::Sha512(KeyedPair::new(key)),
        };
        Self { state }
    }

    /// The hash function this key is used with.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match self.state {
            KeyedState::Sha1(_) => Algorithm::Sha1,
            KeyedState::Sha256(_) => Algorithm::Sha256,
            KeyedState::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// HMAC of the concatenation of `parts`, computed without heap allocation.
    #[must_use]
    pub fn mac(&self, parts: &[&[u8]]) -> MacOutput {
        #[cfg(test)]
        HMACS.with(|count| count.set(count.get() + 1));
        let mut bytes = [0u8; MAX_OUTPUT_LEN];
        match &self.state {
            KeyedState::Sha1(pair) => pair.mac(parts, &mut bytes),
            KeyedState::Sha256(pair) => pair.mac(parts, &mut bytes),
            KeyedState::Sha512(pair) => pair.mac(parts, &mut bytes),
        }
        MacOutput {
            bytes,
            len: self.algorithm().output_len(),
        }
    }

    /// [`dynamic_truncate`](crate::hotp::dynamic_truncate) of [`KeyedMac::mac_counter`],
    /// computed without writing the HMAC to memory: the HOTP hot path.
    pub(crate) fn truncated_counter(&self, counter: u64) -> u32 {
        #[cfg(test)]
        HMACS.with(|count| count.set(count.get() + 1));
        match &self.state {
            KeyedState::Sha1(pair) => pair.truncated_counter(counter),
            KeyedState::Sha256(pair) => pair.truncated_counter(counter),
            KeyedState::Sha512(pair) => pair.truncated_counter(counter),
        }
    }

    /// HMAC of `counter` as 8 big-endian bytes, the HOTP message (RFC 4226 §5.3);
    /// equal to `mac(&[&counter.to_be_bytes()])`, laid out for speed.
    #[must_use]
    pub fn mac_counter(&self, counter: u64) -> MacOutput {
        #[cfg(test)]
        HMACS.with(|count| count.set(count.get() + 1));
        let mut bytes = [0u8; MAX_OUTPUT_LEN];
        match &self.state {
            KeyedState::Sha1(pair) => pair.mac_counter(counter, &mut bytes),
            KeyedState::Sha256(pair) => pair.mac_counter(counter, &mut bytes),
            KeyedState::Sha512(pair) => pair.mac_counter(counter, &mut bytes),
        }
        MacOutput {
            bytes,
            len: self.algorithm().output_len(),
        }
    }
}

impl fmt::Debug for KeyedMac {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "KeyedMac({}, [REDACTED])", self.algorithm())
    }
}

#[cfg(test)]
thread_local! {
    /// How many HMACs this thread computed through [`KeyedMac`], for the tests that
    /// check the work of a rejection is uniform (`validator/service/decoy.rs`).
    pub(crate) static HMACS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};
    use proptest::prelude::*;

    fn reference(algorithm: Algorithm, key: &[u8], message: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
            let mut mac = <M as KeyInit>::new_from_slice(key).unwrap();
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        match algorithm {
            Algorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, message),
            Algorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, message),
            Algorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, message),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn agrees_with_the_hmac_crate(
            algorithm in prop::sample::select(Algorithm::ALL.to_vec()),
            key in prop::collection::vec(any::<u8>(), 0..300),
            message in prop::collection::vec(any::<u8>(), 0..400),
            split in any::<prop::sample::Index>(),
        ) {
            let keyed = KeyedMac::new(algorithm, &key);
            let expected = reference(algorithm, &key, &message);
            prop_assert_eq!(keyed.mac(&[&message]).as_ref().to_vec(), expected.clone());
            let (head, tail) = message.split_at(split.index(message.len() + 1));
            prop_assert_eq!(keyed.mac(&[head, tail]).as_ref().to_vec(), expected);
        }

        #[test]
        fn counter_path_agrees_with_the_general_one(
            algorithm in prop::sample::select(Algorithm::ALL.to_vec()),
            key in prop::collection::vec(any::<u8>(), 0..300),
            counter in any::<u64>(),
        ) {
            let keyed = KeyedMac::new(algorithm, &key);
            let expected = reference(algorithm, &key, &counter.to_be_bytes());
            prop_assert_eq!(keyed.mac_counter(counter).as_ref().to_vec(), expected.clone());
            prop_assert_eq!(keyed.truncated_counter(counter), crate::hotp::dynamic_truncate(&expected));
        }
    }

    #[test]
    fn every_padding_boundary_agrees_with_the_hmac_crate() {
        // Lengths around where the padding spills into a second block.
        for algorithm in Algorithm::ALL {
            for key_len in [0, 1, 63, 64, 65, 127, 128, 129, 200] {
                let key: Vec<u8> = (0..key_len).map(|index| index as u8).collect();
                let keyed = KeyedMac::new(algorithm, &key);
                for message_len in 0..=300 {
                    let message: Vec<u8> =
                        (0..message_len).map(|index| (index * 7) as u8).collect();
                    assert_eq!(
                        keyed.mac(&[&message]).as_ref(),
                        &reference(algorithm, &key, &message)[..],
                        "{algorithm} key {key_len} message {message_len}"
                    );
                }
            }
        }
    }

    #[test]
    fn debug_redacts() {
        let key = KeyedMac::new(Algorithm::Sha1, b"secret");
        assert_eq!(format!("{key:?}"), "KeyedMac(SHA1, [REDACTED])");
    }
}
