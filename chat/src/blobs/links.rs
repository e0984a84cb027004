//! Signed, expiring public links to stored files, for providers that fetch a file by URL
//! rather than take its bytes (Twilio's `MediaUrl`): `<public_base_url>/media/<token>?
//! expires=<unix seconds>&signature=<hex>`, where the signature is HMAC-SHA256 over the
//! token and the expiry with the gateway's key (`attachments.signing_secret`, or one it
//! generated and keeps in its database). The link opens the file — and nothing else — until
//! it expires; its token alone opens nothing without an agent's login. Checked in constant
//! time; never logged (its signature is a credential until it expires).

use crate::clock::Millis;

/// Where the gateway serves files by signed link: this path, then the file's token.
pub const MEDIA_PATH: &str = "/media/";

/// Signs and checks links (see the module documentation). `Debug` shows no key.
#[derive(Clone)]
pub struct LinkSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(<key>)")
    }
}

/// Why a link does not open its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The signature is missing, malformed or not the gateway's for this token and expiry.
    #[error("the link's signature is not valid")]
    BadSignature,
    /// The link expired.
    #[error("the link has expired")]
    Expired,
}

impl LinkSigner {
    /// A signer with `key`.
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    /// The link to the file with token `token` under `base` (the gateway's public base
    /// URL), valid until `expires_at` (ms; rounded down to the second).
    pub fn link(&self, base: &url::Url, token: &str, expires_at: Millis) -> String {
        let expires = expires_at.div_euclid(1000);
        format!(
            "{}{MEDIA_PATH}{token}?expires={expires}&signature={}",
            base.as_str().trim_end_matches('/'),
            hex::encode(self.mac(token, expires))
        )
    }

    /// Whether a link to `token` with `expires` and `signature` (as its query carries them)
    /// opens the file at `now`; the signature is checked first, so an expired link's
    /// answer says nothing of whether it was ever valid unless it was.
    pub fn check(
        &self,
        token: &str,
        expires: &str,
        signature: &str,
        now: Millis,
    ) -> Result<(), LinkError> {
        let expires: i64 = expires.parse().map_err(|_| LinkError::BadSignature)?;
        let given = hex::decode(signature).map_err(|_| LinkError::BadSignature)?;
        use hmac::{KeyInit, Mac};
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(&signed_data(token, expires));
        // verify_slice compares in constant time.
        if mac.verify_slice(&given).is_err() {
            return Err(LinkError::BadSignature);
        }
        if now >= expires.saturating_mul(1000) {
            return Err(LinkError::Expired);
        }
        Ok(())
    }

    fn mac(&self, token: &str, expires: i64) -> Vec<u8> {
        use hmac::{KeyInit, Mac};
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(&signed_data(token, expires));
        mac.finalize().into_bytes().to_vec()
    }
}

/// What is signed: a domain label, the token and the expiry, separated by line breaks
/// (which neither contains).
fn signed_data(token: &str, expires: i64) -> Vec<u8> {
    format!("deflect-media-link\n{token}\n{expires}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(link: &str) -> (String, String, String) {
        let url = url::Url::parse(link).unwrap();
        let token = url.path().strip_prefix(MEDIA_PATH).unwrap().to_string();
        let q = |k: &str| {
            url.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        (token, q("expires"), q("signature"))
    }

    #[test]
    fn a_link_opens_its_file_until_it_expires_and_nothing_else() {
        let signer = LinkSigner::new(b"0123456789abcdef0123456789abcdef");
        let base = url::Url::parse("https://gw.example.com/").unwrap();
        let link = signer.link(&base, "tok1", 1_700_000_060_999);
        assert!(
            link.starts_with("https://gw.example.com/media/tok1?expires=1700000060&signature="),
            "{link}"
        );
        let (token, expires, signature) = parts(&link);
        assert_eq!(
            signer.check(&token, &expires, &signature, 1_700_000_000_000),
            Ok(())
        );
        assert_eq!(
            signer.check(&token, &expires, &signature, 1_700_000_059_999),
            Ok(())
        );
        assert_eq!(
            signer.check(&token, &expires, &signature, 1_700_000_060_000),
            Err(LinkError::Expired)
        );
        // Another token, a later expiry, another key: refused.
        let at = 1_700_000_000_000;
        assert_eq!(
            signer.check("tok2", &expires, &signature, at),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            signer.check(&token, "1700000061", &signature, at),
            Err(LinkError::BadSignature)
        );
        let other = LinkSigner::new(b"another key of thirty-two bytes!");
        assert_eq!(
            other.check(&token, &expires, &signature, at),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            signer.check(&token, &expires, "zz", at),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            signer.check(&token, "soon", &signature, at),
            Err(LinkError::BadSignature)
        );
        assert_eq!(format!("{signer:?}"), "LinkSigner(<key>)");
    }
}
