//! QR codes as SVG (the `qrcode` crate, pure Rust, its SVG renderer only), for the widget's
//! WhatsApp hand-off and the API's `POST /api/v1/deflections/whatsapp`.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// An SVG image of `text` as a QR code (error correction M, quiet zone included), or `None`
/// when the text is too long for a QR code.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .quiet_zone(true)
            .build(),
    )
}

/// A hand-off as the widget and the API answer it: the code, the prefilled text, the
/// `wa.me` link, when it expires, and the link as a QR code.
pub fn handoff_json(h: &deflect_chat::Handoff) -> serde_json::Value {
    serde_json::json!({
        "code": h.code,
        "text": h.text,
        "url": h.url,
        "expires_at": h.expires_at,
        "qr_svg": svg(&h.url),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_an_svg_and_refuses_what_does_not_fit() {
        let s =
            super::svg("https://wa.me/15550100000?text=Continue%20my%20chat%20%28ref%20K7Q2MX%29")
                .unwrap();
        assert!(
            s.starts_with("<?xml") && s.contains("<svg") && s.contains("<path"),
            "{s}"
        );
        assert!(super::svg(&"x".repeat(5000)).is_none());
    }
}
