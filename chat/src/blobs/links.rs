//! Signed, expiring public links to stored files, for providers that fetch a file by URL
//! rather than take its bytes (Twilio's `MediaUrl`): `<public_base_url>/media/<token>?
//! expires=<unix seconds>&signature=<hex>`, where the signature is HMAC-SHA256 over the
//! token and the expiry with the gateway's key (`attachments.signing_secret`, or one it
//! generated and keeps in its database). The link opens the file — and nothing else — until
//! it expires; its token alone opens nothing without an agent's login. Checked in constant
//! time; never logged (its signature is a credential until it expires).
//!
//! The same key signs the SMS fallback's link that continues a conversation in the browser
//! (`<public_base_url>/continue/<conversation id>?expires=…&signature=…`), under another
//! label ([`LinkKind`]): neither kind of link opens what the other does.

use crate::clock::Millis;

/// Where the gateway serves files by signed link: this path, then the file's token.
pub const MEDIA_PATH: &str = "/media/";
/// Where a customer continues a conversation in the browser (the SMS fallback's link):
/// this path, then the conversation's id.
pub const CONTINUE_PATH: &str = "/continue/";

/// What a link opens; each kind is signed under its own label, so a link of one kind
/// never opens another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// A stored file ([`MEDIA_PATH`]).
    Media,
    /// A conversation continued in the browser ([`CONTINUE_PATH`]).
    Continue,
}

impl LinkKind {
    fn path(self) -> &'static str {
        match self {
            Self::Media => MEDIA_PATH,
            Self::Continue => CONTINUE_PATH,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Media => "deflect-media-link",
            Self::Continue => "deflect-continue-link",
        }
    }
}

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
        self.link_to(LinkKind::Media, base, token, expires_at)
    }

    /// The link of kind `kind` to `token` under `base`, valid until `expires_at` (ms;
    /// rounded down to the second).
    pub fn link_to(
        &self,
        kind: LinkKind,
        base: &url::Url,
        token: &str,
        expires_at: Millis,
    ) -> String {
        let expires = expires_at.div_euclid(1000);
        format!(
            "{}{}{token}?expires={expires}&signature={}",
            base.as_str().trim_end_matches('/'),
            kind.path(),
            hex::encode(self.mac(kind, token, expires))
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
        self.check_of(LinkKind::Media, token, expires, signature, now)
    }

    /// As [`LinkSigner::check`], for a link of kind `kind`.
    pub fn check_of(
        &self,
        kind: LinkKind,
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
        mac.update(&signed_data(kind, token, expires));
        // verify_slice compares in constant time.
        if mac.verify_slice(&given).is_err() {
            return Err(LinkError::BadSignature);
        }
        if now >= expires.saturating_mul(1000) {
            return Err(LinkError::Expired);
        }
        Ok(())
    }

    fn mac(&self, kind: LinkKind, token: &str, expires: i64) -> Vec<u8> {
        use hmac::{KeyInit, Mac};
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(&signed_data(kind, token, expires));
        mac.finalize().into_bytes().to_vec()
    }
}

/// What is signed: the kind's label, the token and the expiry, separated by line breaks
/// (which none contains).
fn signed_data(kind: LinkKind, token: &str, expires: i64) -> Vec<u8> {
    format!("{}\n{token}\n{expires}", kind.label()).into_bytes()
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

    #[test]
    fn a_continue_link_opens_no_file_and_a_file_link_continues_nothing() {
        let signer = LinkSigner::new(b"0123456789abcdef0123456789abcdef");
        let base = url::Url::parse("https://gw.example.com").unwrap();
        let link = signer.link_to(LinkKind::Continue, &base, "42", 1_700_000_060_999);
        assert!(
            link.starts_with("https://gw.example.com/continue/42?expires=1700000060&signature=")
        );
        let url = url::Url::parse(&link).unwrap();
        let q = |k: &str| {
            url.query_pairs()
                .find(|(n, _)| n == k)
                .unwrap()
                .1
                .into_owned()
        };
        let (expires, signature) = (q("expires"), q("signature"));
        let at = 1_700_000_000_000;
        assert_eq!(
            signer.check_of(LinkKind::Continue, "42", &expires, &signature, at),
            Ok(())
        );
        assert_eq!(
            signer.check_of(LinkKind::Media, "42", &expires, &signature, at),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            signer.check_of(LinkKind::Continue, "43", &expires, &signature, at),
            Err(LinkError::BadSignature)
        );
    }
}
