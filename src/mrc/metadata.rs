//! The extended header (bytes 1024 .. 1024 + NSYMBT) as metadata.
//!
//! python-mrcz writes a UTF-8 JSON object there with EXTTYP `json` (spec §5.4), serialised by
//! Python's `json.dumps` (or python-rapidjson), which writes NaN and infinities as the bare
//! tokens `NaN`, `Infinity`, `-Infinity` that strict JSON rejects. This module reads those
//! leniently, keeps the original bytes so that unchanged metadata is written back byte for byte,
//! and serialises new metadata the way `json.dumps` does by default.

use std::io;

use serde::Deserialize;
use serde_json::Value;
use serde_json::ser::{CharEscape, Formatter};

use crate::{Error, Result};

/// EXTTYP of JSON metadata (python-mrcz).
pub const EXTTYP_JSON: [u8; 4] = *b"json";
/// EXTTYP of MessagePack metadata (an extension of this crate; python-mrcz does not read it).
pub const EXTTYP_MSGPACK: [u8; 4] = *b"msgp";

/// The extended header.
#[derive(Debug, Clone, PartialEq)]
pub enum Metadata {
    /// No extended header (NSYMBT = 0).
    None,
    /// EXTTYP `json`. `value` is the parsed document with NaN and ±Infinity mapped to null;
    /// `raw` the bytes as read (or as first serialised), written back unchanged as long as they
    /// still parse to `value`.
    Json {
        /// The parsed document.
        value: Value,
        /// The bytes it came from.
        raw: Vec<u8>,
    },
    /// EXTTYP `msgp`: a MessagePack document, with the same `raw` rule as `Json`.
    MessagePack {
        /// The parsed document.
        value: Value,
        /// The bytes it came from.
        raw: Vec<u8>,
    },
    /// Any other EXTTYP (`FEI1`, `SERI`, `CCP4`, ...), or metadata the caller chose not to parse:
    /// kept byte for byte.
    Opaque {
        /// EXTTYP.
        exttyp: [u8; 4],
        /// The extended header bytes.
        bytes: Vec<u8>,
    },
}

impl Metadata {
    /// Interprets `bytes`, the NSYMBT bytes after the header, according to `exttyp`: `json` →
    /// lenient JSON, `msgp` → MessagePack, anything else → [`Metadata::Opaque`]. Empty `bytes`
    /// give [`Metadata::None`].
    ///
    /// # Errors
    /// [`Error::Metadata`] if `json` bytes are not UTF-8 or not JSON (bare `NaN`, `Infinity` and
    /// `-Infinity` are accepted), or `msgp` bytes are not one MessagePack document representable
    /// as JSON. The caller is expected to keep such bytes as `Opaque` and warn rather than fail
    /// the file.
    pub fn parse(exttyp: [u8; 4], bytes: Vec<u8>) -> Result<Metadata> {
        if bytes.is_empty() {
            return Ok(Metadata::None);
        }
        match exttyp {
            EXTTYP_JSON => {
                let value = parse_json_lenient(&bytes)?;
                Ok(Metadata::Json { value, raw: bytes })
            }
            EXTTYP_MSGPACK => {
                let value = parse_msgpack(&bytes)?;
                Ok(Metadata::MessagePack { value, raw: bytes })
            }
            _ => Ok(Metadata::Opaque { exttyp, bytes }),
        }
    }

    /// JSON metadata for `value`, serialised like Python's `json.dumps` (separators `", "` and
    /// `": "`, non-ASCII and DEL escaped as `\uXXXX`).
    pub fn json(value: Value) -> Metadata {
        let raw = to_python_json(&value);
        Metadata::Json { value, raw }
    }

    /// MessagePack metadata for `value` (maps with string keys).
    ///
    /// # Errors
    /// [`Error::Metadata`] if serialisation fails.
    pub fn msgpack(value: Value) -> Result<Metadata> {
        let raw = to_msgpack(&value)?;
        Ok(Metadata::MessagePack { value, raw })
    }

    /// EXTTYP for the header: `json`, `msgp`, the opaque type, or zeros for `None`.
    pub fn exttyp(&self) -> [u8; 4] {
        match self {
            Metadata::None => [0; 4],
            Metadata::Json { .. } => EXTTYP_JSON,
            Metadata::MessagePack { .. } => EXTTYP_MSGPACK,
            Metadata::Opaque { exttyp, .. } => *exttyp,
        }
    }

    /// The bytes of the extended header (NSYMBT = their length). `raw` when it still parses to
    /// `value` (so unchanged metadata, NaN tokens and all, round-trips byte for byte), otherwise
    /// `value` freshly serialised.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Metadata::None => Vec::new(),
            Metadata::Json { value, raw } => {
                if parse_json_lenient(raw).is_ok_and(|v| v == *value) {
                    raw.clone()
                } else {
                    to_python_json(value)
                }
            }
            Metadata::MessagePack { value, raw } => {
                if parse_msgpack(raw).is_ok_and(|v| v == *value) {
                    raw.clone()
                } else {
                    // Serialising a JSON value to MessagePack cannot fail in practice; fall back
                    // to the old bytes rather than panic.
                    to_msgpack(value).unwrap_or_else(|_| raw.clone())
                }
            }
            Metadata::Opaque { bytes, .. } => bytes.clone(),
        }
    }

    /// The parsed document of `Json` and `MessagePack` metadata.
    pub fn value(&self) -> Option<&Value> {
        match self {
            Metadata::Json { value, .. } | Metadata::MessagePack { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Mutable access to the parsed document; [`to_bytes`](Metadata::to_bytes) notices changes.
    pub fn value_mut(&mut self) -> Option<&mut Value> {
        match self {
            Metadata::Json { value, .. } | Metadata::MessagePack { value, .. } => Some(value),
            _ => None,
        }
    }
}

/// Replaces Python's bare `NaN`, `Infinity` and `-Infinity` tokens outside strings with `null`.
fn replace_non_finite(text: &str) -> std::borrow::Cow<'_, str> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut i = 0;
    let mut in_string = false;
    while i < b.len() {
        let c = b[i];
        if in_string {
            match c {
                b'\\' => i += 2,
                b'"' => {
                    in_string = false;
                    i += 1;
                }
                _ => i += 1,
            }
            continue;
        }
        let token_len = match c {
            b'"' => {
                in_string = true;
                0
            }
            b'N' if b[i..].starts_with(b"NaN") => 3,
            b'I' if b[i..].starts_with(b"Infinity") => 8,
            b'-' if b[i + 1..].starts_with(b"Infinity") => 9,
            _ => 0,
        };
        if token_len > 0 {
            out.push_str(&text[last..i]);
            out.push_str("null");
            i += token_len;
            last = i;
        } else {
            i += 1;
        }
    }
    if last == 0 {
        std::borrow::Cow::Borrowed(text)
    } else {
        out.push_str(&text[last..]);
        std::borrow::Cow::Owned(out)
    }
}

fn parse_json_lenient(bytes: &[u8]) -> Result<Value> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::Metadata(format!(
            "JSON extended header is not UTF-8 (byte {} of it)",
            e.valid_up_to()
        ))
    })?;
    serde_json::from_str(&replace_non_finite(text))
        .map_err(|e| Error::Metadata(format!("JSON extended header: {e}")))
}

fn parse_msgpack(bytes: &[u8]) -> Result<Value> {
    let mut cursor = io::Cursor::new(bytes);
    let mut de = rmp_serde::Deserializer::new(&mut cursor);
    let value = Value::deserialize(&mut de)
        .map_err(|e| Error::Metadata(format!("MessagePack extended header: {e}")))?;
    let used = cursor.position();
    if used != bytes.len() as u64 {
        return Err(Error::Metadata(format!(
            "MessagePack extended header: {} trailing bytes after the document",
            bytes.len() as u64 - used
        )));
    }
    Ok(value)
}

fn to_msgpack(value: &Value) -> Result<Vec<u8>> {
    rmp_serde::to_vec_named(value)
        .map_err(|e| Error::Metadata(format!("MessagePack serialisation: {e}")))
}

/// serde_json formatter reproducing Python's `json.dumps` defaults.
struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // ensure_ascii: everything outside ' '..='~' is escaped; serde_json already escaped the
        // control characters, quote and backslash before calling this.
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if (' '..='~').contains(&ch) {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + ch.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let s: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => {
                return write!(writer, "\\u{byte:04x}");
            }
        };
        writer.write_all(s)
    }
}

fn to_python_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    // Writing a Value into a Vec cannot fail.
    let _ = serde::Serialize::serialize(value, &mut ser);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_finite_tokens() {
        assert_eq!(
            replace_non_finite(
                r#"{"a": NaN, "b": [Infinity, -Infinity], "NaN": "-Infinity\" NaN"}"#
            ),
            r#"{"a": null, "b": [null, null], "NaN": "-Infinity\" NaN"}"#
        );
        assert_eq!(replace_non_finite("-"), "-");
        assert_eq!(replace_non_finite("\"\\"), "\"\\");
    }

    #[test]
    fn python_style_output() {
        let v = json!({"a": 1, "b": [0, 1.5, "x"], "é": "ü\u{1F600}\n\u{7f}", "n": null});
        assert_eq!(
            String::from_utf8(to_python_json(&v)).unwrap(),
            r#"{"a": 1, "b": [0, 1.5, "x"], "\u00e9": "\u00fc\ud83d\ude00\n\u007f", "n": null}"#
        );
        assert_eq!(to_python_json(&json!({})), b"{}");
        assert_eq!(to_python_json(&json!([])), b"[]");
    }
}
