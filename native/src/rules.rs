//! akd's hashing rules for both configurations (spec/akd-compat.md sections 1.1 and 3), as
//! `glasskey.core.akd.configuration` has them: `H` is BLAKE3, with the domain label
//! prepended for Experimental; a label's value is `H(BE32(len) || val)` for WhatsApp and the
//! 36 bytes themselves for Experimental; a parent is `H(H(l || lv_l) || H(r || lv_r))` for
//! WhatsApp and `H(l || lv_l || r || lv_r)` for Experimental.

pub struct Rules {
    whatsapp: bool,
    prefix: Vec<u8>,
}

impl Rules {
    pub fn new(whatsapp: bool, prefix: &[u8]) -> Self {
        Rules {
            whatsapp,
            prefix: prefix.to_vec(),
        }
    }

    pub fn hash(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(&self.prefix);
        for p in parts {
            h.update(p);
        }
        *h.finalize().as_bytes()
    }

    fn label_value_of_form(&self, form: [u8; 36]) -> Vec<u8> {
        if self.whatsapp {
            self.hash(&[&form]).to_vec()
        } else {
            form.to_vec()
        }
    }

    /// The label value of `(val, len)`: its 36-byte form is `BE32(len) || val`.
    pub fn label_value(&self, val: &[u8; 32], len: u32) -> Vec<u8> {
        let mut form = [0u8; 36];
        form[..4].copy_from_slice(&len.to_be_bytes());
        form[4..].copy_from_slice(val);
        self.label_value_of_form(form)
    }

    /// The label value of a storage key (`BE16(len) || label bytes`): the form is
    /// `b"\0\0" + key.ljust(34, b"\0")`.
    pub fn label_value_of_key(&self, key: &[u8]) -> Vec<u8> {
        let mut form = [0u8; 36];
        let n = key.len().min(34);
        form[2..2 + n].copy_from_slice(&key[..n]);
        self.label_value_of_form(form)
    }

    pub fn parent(&self, left: &[u8], lv_l: &[u8], right: &[u8], lv_r: &[u8]) -> [u8; 32] {
        if self.whatsapp {
            let l = self.hash(&[left, lv_l]);
            let r = self.hash(&[right, lv_r]);
            self.hash(&[&l, &r])
        } else {
            self.hash(&[left, lv_l, right, lv_r])
        }
    }
}
