//! Files in the outbox ([`Outgoing::Media`]): before a file is sent, the provider is given
//! the way to reach it — Meta an upload's media id, Twilio a signed link that expires.
//!
//! - Meta: the file is uploaded (`POST /{phone_number_id}/media`, streamed from the
//!   attachment store) and its id kept per account and stored file (`provider_media`): a
//!   retried send, or the same file sent again, uses the id while it is fresh (Meta keeps
//!   uploads 30 days; ids older than [`MEDIA_ID_FRESH`] are not used). An upload that fails
//!   is retried like a send (it sends nothing, so no answer means try again); a file no
//!   longer in the store fails the message.
//! - Twilio: `<http.public_base_url>/media/<token>?expires=…&signature=…`, valid
//!   `attachments.link_ttl`; without a public base URL the message fails, saying so.
//! - The sandbox: nothing; its outgoing files are read back from the store.

use super::{Claimed, Outbox};
use crate::blobs::{BlobError, BlobStore, LinkSigner};
use crate::clock::{Millis, ms};
use crate::provider::{self, MediaLink, MediaMessage, MediaNeed, SendError};
use crate::repo;

/// How old a provider's media id may be and still be used (Meta keeps uploads 30 days).
pub const MEDIA_ID_FRESH: Millis = 29 * 24 * 3600 * 1000;

/// What the outbox needs to send files: the store holding them and the key signing links
/// to them.
#[derive(Clone, Debug)]
pub(crate) struct OutboxFiles {
    pub(crate) blobs: BlobStore,
    pub(crate) links: LinkSigner,
}

impl Outbox {
    /// How `client` reaches the file `m` of claimed row `c` (see the module documentation).
    pub(super) async fn prepare_media(
        &self,
        c: &Claimed,
        client: &provider::Client,
        m: &MediaMessage,
    ) -> Result<Option<MediaLink>, SendError> {
        let Some(files) = &self.files else {
            return Err(rejected(
                "this gateway has no attachment store to send files from",
            ));
        };
        match (client.media_need(), client) {
            (MediaNeed::Nothing, _) => Ok(None),
            (MediaNeed::Link, _) => {
                let Some(base) = &self.settings().public_base_url else {
                    return Err(rejected(
                        "this provider fetches files from the gateway: set http.public_base_url to the address it reaches",
                    ));
                };
                let ttl = ms(self.settings().attachments.link_ttl);
                let link = files.links.link(base, &m.token, self.now() + ttl);
                Ok(Some(MediaLink::Url(link)))
            }
            (MediaNeed::Upload, provider::Client::Meta(meta)) => {
                let since = self.now() - MEDIA_ID_FRESH;
                let store = self.store();
                match repo::provider_media::fresh(store, &c.account, &m.blob_key, since).await {
                    Ok(Some(id)) => return Ok(Some(MediaLink::Id(id))),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(cause = %e, "provider media ids could not be read; uploading the file");
                    }
                }
                let (bytes, size) = match files.blobs.get(&m.blob_key).await {
                    Ok(found) => found,
                    Err(BlobError::NotFound { .. }) => {
                        return Err(rejected("the file is no longer in the attachment store"));
                    }
                    Err(e) => {
                        return Err(SendError::Retry {
                            code: None,
                            message: format!("reading the file failed: {e}"),
                        });
                    }
                };
                let name = file_name(m);
                let id = meta.upload_media(&m.mime_type, &name, size, bytes).await?;
                tracing::info!(message_id = c.message_id, size, "file uploaded to Meta");
                metrics::counter!("deflect_outbox_media_uploads_total", "account" => c.account.clone())
                    .increment(1);
                let now = self.now();
                if let Err(e) =
                    repo::provider_media::record(store, &c.account, &m.blob_key, &id, now).await
                {
                    tracing::warn!(cause = %e, "the media id Meta gave a file could not be kept; it is uploaded again next time");
                }
                Ok(Some(MediaLink::Id(id)))
            }
            (MediaNeed::Upload, _) => Err(rejected("this provider cannot take uploads")),
        }
    }
}

/// The name a file is uploaded under: its own, or its kind with its type's extension.
fn file_name(m: &MediaMessage) -> String {
    m.filename.clone().unwrap_or_else(|| {
        let ext = crate::blobs::media::extension(&m.mime_type).unwrap_or("bin");
        format!("{}.{ext}", m.kind)
    })
}

fn rejected(message: &str) -> SendError {
    SendError::Rejected {
        code: None,
        message: message.into(),
    }
}
