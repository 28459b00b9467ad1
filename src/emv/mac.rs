//! The MAC EMV uses for application cryptograms: ISO/IEC 9797-1 MAC algorithm 3 (the
//! "retail MAC") over single DES with a double-length key, with padding method 2
//! (EMV Book 2, Annex A1.2.1).

use cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use des::Des;

use crate::emv::key::{BLOCK, DoubleLengthKey};

/// ISO/IEC 9797-1 MAC algorithm 3 with padding method 2: CBC over single DES under the
/// key's left half, then the last block deciphered under the right half and enciphered
/// again under the left. Works on the stack: no allocation, whatever the data's length.
pub(crate) fn retail_mac(key: &DoubleLengthKey, data: &[u8]) -> [u8; BLOCK] {
    #[cfg(test)]
    RETAIL_MACS.with(|count| count.set(count.get() + 1));
    let (left, right) = key.halves();
    let left = Des::new(&(*left).into());
    let right = Des::new(&(*right).into());
    let mut chain = [0u8; BLOCK];
    let mut chunks = data.chunks_exact(BLOCK);
    for chunk in &mut chunks {
        xor_into(&mut chain, chunk);
        encrypt(&left, &mut chain);
    }
    // Padding method 2: a 0x80 byte, then zeros to the block's end; a whole block of
    // padding when the data already ends on a block boundary.
    let rest = chunks.remainder();
    let mut last = [0u8; BLOCK];
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] = 0x80;
    xor_into(&mut chain, &last);
    encrypt(&left, &mut chain);
    let mut block = chain.into();
    right.decrypt_block(&mut block);
    left.encrypt_block(&mut block);
    block.into()
}

/// ISO/IEC 9797-1 MAC algorithm 1 (plain CBC-MAC under single DES) over whole blocks:
/// the reader's public hash of the data it signs in mode 2.
pub(crate) fn cbc_mac_blocks(
    key: &[u8; BLOCK],
    blocks: impl Iterator<Item = [u8; BLOCK]>,
) -> [u8; BLOCK] {
    let cipher = Des::new(&(*key).into());
    let mut chain = [0u8; BLOCK];
    for block in blocks {
        xor_into(&mut chain, &block);
        encrypt(&cipher, &mut chain);
    }
    chain
}

fn encrypt(cipher: &Des, block: &mut [u8; BLOCK]) {
    let mut array = (*block).into();
    cipher.encrypt_block(&mut array);
    *block = array.into();
}

fn xor_into(target: &mut [u8; BLOCK], data: &[u8]) {
    for (byte, other) in target.iter_mut().zip(data) {
        *byte ^= other;
    }
}

#[cfg(test)]
thread_local! {
    /// How many retail MACs this thread computed, for the tests that check the work of
    /// a rejection is uniform (`validator/service/decoy.rs`).
    pub(crate) static RETAIL_MACS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        crate::emv::tests_support::hex(text)
    }

    /// pyemv's documented example (its `ac.generate_ac` docstring): an ARQC over
    /// EMV Book 2's minimum data set under session key AAAA…BBBB.
    #[test]
    fn pyemv_docstring_arqc() {
        let key = DoubleLengthKey::from_slice(&hex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")).unwrap();
        let data = hex(concat!(
            "000000002000",
            "000000000000",
            "0124",
            "0000008000",
            "0124",
            "110309",
            "00",
            "3804823E",
            "5800",
            "0001"
        ));
        assert_eq!(retail_mac(&key, &data).to_vec(), hex("3B76CF10FECD8789"));
    }

    /// Padding method 2 always pads: data ending on a block boundary gets a whole
    /// block more, so "x" and "x || 80 00…" do not share a MAC.
    #[test]
    fn padding_is_unambiguous() {
        let key = DoubleLengthKey::from_slice(&hex("0123456789ABCDEFFEDCBA9876543210")).unwrap();
        let short = [1u8, 2, 3, 4, 5, 6, 7];
        let mut padded = short.to_vec();
        padded.push(0x80);
        assert_ne!(retail_mac(&key, &short), retail_mac(&key, &padded));
        assert_ne!(retail_mac(&key, &[]), retail_mac(&key, &[0x80]));
    }
}
