//! Which types WhatsApp accepts for each kind of media ([`ACCEPTED`], the one list), and what
//! a file is, read from its first bytes ([`identify`]).
//!
//! The sender's declared type is never trusted: the magic numbers decide (the `infer` crate,
//! plus 3GPP and Ogg Opus, which it does not tell apart). The declared type only chooses
//! where the bytes cannot: between text/plain and unknown for bytes without a signature,
//! between Word, Excel and PowerPoint for an OLE compound file (whose type lies in a
//! directory that may be anywhere in the file), and between the three Office Open XML types
//! for a ZIP archive that holds `[Content_Types].xml` but whose parts come later than the
//! first bytes.

use deflect_config::MediaKind;

/// Office Open XML: Word.
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
/// Office Open XML: Excel.
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// Office Open XML: PowerPoint.
const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
/// The legacy (OLE compound file) Office types.
const LEGACY_OFFICE: [&str; 3] = [
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
];

/// The media types WhatsApp accepts, per kind (the Cloud API's supported media types). Audio
/// in Ogg must be Opus; `audio/mp4` covers any MP4 container sent as audio.
pub const ACCEPTED: [(MediaKind, &[&str]); 5] = [
    (MediaKind::Image, &["image/jpeg", "image/png"]),
    (
        MediaKind::Audio,
        &[
            "audio/aac",
            "audio/amr",
            "audio/mpeg",
            "audio/mp4",
            "audio/ogg",
        ],
    ),
    (MediaKind::Video, &["video/mp4", "video/3gpp"]),
    (
        MediaKind::Document,
        &[
            "application/pdf",
            "application/msword",
            DOCX,
            "application/vnd.ms-excel",
            XLSX,
            "application/vnd.ms-powerpoint",
            PPTX,
            "text/plain",
        ],
    ),
    (MediaKind::Sticker, &["image/webp"]),
];

/// The types accepted for `kind`.
pub fn accepted(kind: MediaKind) -> &'static [&'static str] {
    ACCEPTED
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, types)| types)
}

/// The usual file name extension of an accepted type (`image/jpeg` → `jpg`), for a file
/// that came without a name.
pub fn extension(mime_type: &str) -> Option<&'static str> {
    Some(match mime_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "audio/aac" => "aac",
        "audio/amr" => "amr",
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        "audio/ogg" => "ogg",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "application/pdf" => "pdf",
        "application/msword" => "doc",
        DOCX => "docx",
        "application/vnd.ms-excel" => "xls",
        XLSX => "xlsx",
        "application/vnd.ms-powerpoint" => "ppt",
        PPTX => "pptx",
        "text/plain" => "txt",
        _ => return None,
    })
}

/// How many first bytes [`identify`] needs at most: enough for the Office Open XML parts
/// that follow a ZIP archive's first entry.
pub const SNIFF_LEN: usize = 16 * 1024;

/// The type of a file of `kind` whose first bytes are `head` (all of it when `complete`, else
/// its first [`SNIFF_LEN`] bytes), if it is one WhatsApp accepts for `kind`; otherwise what it
/// was found to be, if anything.
pub fn identify(
    kind: MediaKind,
    head: &[u8],
    declared: Option<&str>,
    complete: bool,
) -> Result<&'static str, Option<&'static str>> {
    let declared = declared.map(normalize);
    let found = sniff(head, declared.as_deref(), complete);
    let found = match (kind, found) {
        // An MP4 file sent as audio (a voice memo) is audio/mp4, whatever its brand says.
        (MediaKind::Audio, Some("video/mp4")) => Some("audio/mp4"),
        (_, found) => found,
    };
    match found {
        Some(t) if accepted(kind).contains(&t) => Ok(t),
        other => Err(other),
    }
}

/// The kind a file whose first bytes are `head` is sent as, when it is a type WhatsApp
/// accepts for one (its type read from the bytes as [`identify`] does): JPEG and PNG are
/// images, WebP stickers, MP4 and 3GPP video (an MP4 whose brand says audio is audio),
/// AAC, AMR, MP3 and Ogg Opus audio, PDF, Office and plain text documents.
pub fn kind_of(head: &[u8], declared: Option<&str>, complete: bool) -> Option<MediaKind> {
    [
        MediaKind::Image,
        MediaKind::Sticker,
        MediaKind::Video,
        MediaKind::Audio,
        MediaKind::Document,
    ]
    .into_iter()
    .find(|k| identify(*k, head, declared, complete).is_ok())
}

/// What a file of no accepted kind was found to be, if anything.
pub fn found_type(head: &[u8], declared: Option<&str>, complete: bool) -> Option<&'static str> {
    sniff(head, declared.map(normalize).as_deref(), complete)
}

/// The declared type without parameters, in lower case: `Text/Plain; charset=UTF-8` →
/// `text/plain`.
fn normalize(declared: &str) -> String {
    declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// What the bytes are, independent of the kind expected.
fn sniff(head: &[u8], declared: Option<&str>, complete: bool) -> Option<&'static str> {
    if is_3gpp(head) {
        return Some("video/3gpp");
    }
    let Some(found) = infer::get(head).map(|t| t.mime_type()) else {
        return match declared {
            Some("text/plain") if looks_like_text(head, complete) => Some("text/plain"),
            _ => None,
        };
    };
    Some(match found {
        "audio/m4a" => "audio/mp4",
        // WhatsApp's audio/ogg is Opus; Ogg of any other codec is not accepted.
        "audio/opus" => "audio/ogg",
        "audio/ogg" => "application/ogg",
        // Without its OLE parser infer names every compound file a Word document.
        "application/msword" | "application/x-ole-storage" => {
            return Some(
                LEGACY_OFFICE
                    .into_iter()
                    .find(|t| declared == Some(*t))
                    .unwrap_or("application/x-ole-storage"),
            );
        }
        "application/zip" if contains(head, b"[Content_Types].xml") => {
            return Some(
                [DOCX, XLSX, PPTX]
                    .into_iter()
                    .find(|t| declared == Some(*t))
                    .unwrap_or("application/zip"),
            );
        }
        other => other,
    })
}

/// A 3GPP file: an ISO base media file whose major brand is `3gp*` or `3g2*`.
fn is_3gpp(head: &[u8]) -> bool {
    head.len() >= 12 && &head[4..8] == b"ftyp" && matches!(&head[8..11], b"3gp" | b"3g2")
}

/// Text as WhatsApp's text/plain documents hold it: UTF-8 (a character cut off at the end of
/// an incomplete head is fine) without control characters other than tab, line breaks and
/// form feed.
fn looks_like_text(head: &[u8], complete: bool) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) if !complete && e.error_len().is_none() => {
            // Cut inside a character: the part before it was valid.
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && valid
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use MediaKind::*;

    #[test]
    fn every_accepted_type_has_an_extension() {
        for (_, types) in ACCEPTED {
            for t in types {
                assert!(extension(t).is_some(), "{t}");
            }
        }
        assert_eq!(extension("application/x-msdownload"), None);
    }

    /// An ISO base media file header with `brand`.
    fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0x18];
        v.extend_from_slice(b"ftyp");
        v.extend_from_slice(brand);
        v.extend_from_slice(&[0; 12]);
        v
    }

    /// The first Ogg page of a stream whose first packet starts with `packet`.
    fn ogg(packet: &[u8]) -> Vec<u8> {
        let mut v = b"OggS".to_vec();
        v.extend_from_slice(&[0, 2]); // version, flags: beginning of stream
        v.extend_from_slice(&[0; 8]); // granule position
        v.extend_from_slice(&[1, 0, 0, 0]); // serial
        v.extend_from_slice(&[0; 8]); // sequence, checksum
        v.push(1); // one segment
        v.push(19);
        v.extend_from_slice(packet);
        v.resize(v.len() + 19 - packet.len(), 0);
        v
    }

    /// ZIP local file entries (stored, no central directory): what the start of an Office
    /// Open XML file looks like.
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        for (name, data) in entries {
            v.extend_from_slice(b"PK\x03\x04");
            v.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version … crc
            let len = (data.len() as u32).to_le_bytes();
            v.extend_from_slice(&len); // compressed size
            v.extend_from_slice(&len); // uncompressed size
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&[0, 0]); // extra field length
            v.extend_from_slice(name.as_bytes());
            v.extend_from_slice(data);
        }
        v
    }

    const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0, 0, 0];

    fn is(
        kind: MediaKind,
        head: &[u8],
        declared: Option<&str>,
    ) -> Result<&'static str, Option<&'static str>> {
        identify(kind, head, declared, true)
    }

    #[test]
    fn images_and_stickers_by_their_signatures() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let webp = b"RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0";
        assert_eq!(is(Image, &jpeg, None), Ok("image/jpeg"));
        assert_eq!(is(Image, png, Some("image/jpeg")), Ok("image/png"));
        assert_eq!(is(Sticker, webp, None), Ok("image/webp"));
        // A WebP is a sticker, not a photo; a JPEG is not a sticker.
        assert_eq!(is(Image, webp, Some("image/webp")), Err(Some("image/webp")));
        assert_eq!(
            is(Sticker, &jpeg, Some("image/webp")),
            Err(Some("image/jpeg"))
        );
        let gif = b"GIF89a\x01\0\x01\0";
        assert_eq!(is(Image, gif, Some("image/png")), Err(Some("image/gif")));
    }

    #[test]
    fn audio_in_each_accepted_container() {
        assert_eq!(is(Audio, &ogg(b"OpusHead\x01\x01"), None), Ok("audio/ogg"));
        assert_eq!(
            is(Audio, b"#!AMR\n\x3c\x48\x77\xff\xe0\x30\x00", None),
            Ok("audio/amr")
        );
        assert_eq!(
            is(Audio, &[0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F], None),
            Ok("audio/aac")
        );
        assert_eq!(is(Audio, b"ID3\x04\0\0\0\0\0\0", None), Ok("audio/mpeg"));
        assert_eq!(is(Audio, &ftyp(b"M4A "), None), Ok("audio/mp4"));
        // An MP4 sent as audio is audio/mp4.
        assert_eq!(
            is(Audio, &ftyp(b"isom"), Some("audio/mp4")),
            Ok("audio/mp4")
        );
        // Ogg Vorbis is not what WhatsApp plays.
        assert_eq!(
            is(Audio, &ogg(b"\x01vorbis\0\0\0\0"), Some("audio/ogg")),
            Err(Some("application/ogg"))
        );
        assert_eq!(
            is(Audio, b"RIFF\x24\0\0\0WAVEfmt ", None),
            Err(Some("audio/x-wav"))
        );
    }

    #[test]
    fn video_as_mp4_or_3gpp() {
        assert_eq!(is(Video, &ftyp(b"isom"), None), Ok("video/mp4"));
        assert_eq!(
            is(Video, &ftyp(b"mp42"), Some("video/quicktime")),
            Ok("video/mp4")
        );
        assert_eq!(is(Video, &ftyp(b"3gp4"), None), Ok("video/3gpp"));
        assert_eq!(is(Video, &ftyp(b"3g2a"), None), Ok("video/3gpp"));
        assert_eq!(
            is(Video, &ftyp(b"qt  "), Some("video/mp4")),
            Err(Some("video/quicktime"))
        );
        assert_eq!(
            is(Video, &ftyp(b"M4A "), Some("video/mp4")),
            Err(Some("audio/mp4"))
        );
    }

    #[test]
    fn documents_by_signature_whatever_the_declared_type() {
        assert_eq!(
            is(Document, b"%PDF-1.7\n%\xe2\xe3", Some("text/plain")),
            Ok("application/pdf")
        );
        let docx = zip(&[("word/document.xml", b"<w:document/>")]);
        assert_eq!(is(Document, &docx, None), Ok(DOCX));
        // As Excel writes it: the fourth part names the type.
        let xlsx = zip(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("_rels/.rels", b"<Relationships/>"),
            ("xl/_rels/workbook.xml.rels", b"<Relationships/>"),
            ("xl/workbook.xml", b"<workbook/>"),
        ]);
        assert_eq!(is(Document, &xlsx, Some("application/pdf")), Ok(XLSX));
        let pptx = zip(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("_rels/.rels", b"<Relationships/>"),
            ("ppt/_rels/presentation.xml.rels", b"<Relationships/>"),
            ("ppt/presentation.xml", b"<p/>"),
        ]);
        assert_eq!(is(Document, &pptx, None), Ok(PPTX));
        // A PDF is not an image, however it is declared.
        assert_eq!(
            is(Image, b"%PDF-1.7\n", Some("image/png")),
            Err(Some("application/pdf"))
        );
        // An executable is no document.
        let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff";
        assert_eq!(
            is(Document, exe, Some("application/pdf")),
            Err(Some("application/vnd.microsoft.portable-executable"))
        );
    }

    #[test]
    fn the_declared_type_only_chooses_where_the_bytes_cannot() {
        // An OLE compound file: Word, Excel or PowerPoint as declared, else unknown.
        for t in LEGACY_OFFICE {
            assert_eq!(is(Document, OLE, Some(t)), Ok(t));
        }
        assert_eq!(
            is(Document, OLE, Some("application/pdf")),
            Err(Some("application/x-ole-storage"))
        );
        assert_eq!(
            is(Document, OLE, None),
            Err(Some("application/x-ole-storage"))
        );
        // Office Open XML whose parts come after the first bytes: as declared, if it is one.
        let early = zip(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("_rels/.rels", b"<Relationships/>"),
            ("docProps/app.xml", b"<Properties/>"),
        ]);
        assert_eq!(is(Document, &early, Some(XLSX)), Ok(XLSX));
        assert_eq!(
            is(Document, &early, Some("application/pdf")),
            Err(Some("application/zip"))
        );
        // A plain ZIP is not an Office file, even declared as one.
        let plain = zip(&[("notes.txt", b"hello")]);
        assert_eq!(
            is(Document, &plain, Some(DOCX)),
            Err(Some("application/zip"))
        );
    }

    #[test]
    fn plain_text_needs_its_declaration_and_text_bytes() {
        let text = "Bestellung 42: bitte zurückrufen.\r\n\tDanke!\n".as_bytes();
        assert_eq!(
            is(Document, text, Some("Text/Plain; charset=UTF-8")),
            Ok("text/plain")
        );
        assert_eq!(is(Document, text, None), Err(None));
        assert_eq!(
            is(Document, text, Some("application/octet-stream")),
            Err(None)
        );
        assert_eq!(is(Document, b"abc\0def", Some("text/plain")), Err(None));
        assert_eq!(
            is(Document, b"\xff\xfeh\0i\0", Some("text/plain")),
            Err(None)
        );
        assert_eq!(is(Document, b"", Some("text/plain")), Err(None));
        // Text as a kind other than document is not accepted.
        assert_eq!(is(Image, text, Some("text/plain")), Err(Some("text/plain")));
        // Cut in the middle of a character: fine when more follows, not at the end.
        let cut = &"zurück".as_bytes()[..4];
        assert_eq!(
            identify(Document, cut, Some("text/plain"), false),
            Ok("text/plain")
        );
        assert_eq!(identify(Document, cut, Some("text/plain"), true), Err(None));
        // HTML or a script is not passed off as plain text.
        assert_eq!(
            is(
                Document,
                b"<!DOCTYPE html><html><script>",
                Some("text/plain")
            ),
            Err(Some("text/html"))
        );
    }

    #[test]
    fn a_files_kind_is_read_from_its_bytes() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
        let webp = b"RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0";
        let kind = |head: &[u8], declared| kind_of(head, declared, true);
        assert_eq!(kind(&jpeg, Some("application/pdf")), Some(Image));
        assert_eq!(kind(webp, None), Some(Sticker));
        assert_eq!(kind(&ftyp(b"isom"), Some("audio/mp4")), Some(Video));
        assert_eq!(kind(&ftyp(b"M4A "), None), Some(Audio));
        assert_eq!(kind(&ogg(b"OpusHead\x01\x01"), None), Some(Audio));
        assert_eq!(kind(b"%PDF-1.7\n", Some("image/png")), Some(Document));
        assert_eq!(kind(b"hello\n", Some("text/plain")), Some(Document));
        let gif = b"GIF89a\x01\0\x01\0";
        assert_eq!(kind(gif, Some("image/png")), None);
        assert_eq!(found_type(gif, Some("image/png"), true), Some("image/gif"));
        assert_eq!(kind(b"hello\n", None), None);
        assert_eq!(found_type(b"hello\n", None, true), None);
    }

    #[test]
    fn every_kind_has_its_list() {
        for kind in MediaKind::ALL {
            assert!(!accepted(kind).is_empty(), "{kind}");
        }
    }
}
