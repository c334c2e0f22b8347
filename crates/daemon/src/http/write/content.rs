//! Which bodies the receiver reads: remote-write 1.0, `application/x-protobuf` compressed with
//! `snappy`. Anything else (gzip, remote-write 2.0's `proto=io.prometheus.write.v2.Request`) is
//! answered 415 instead of being misread as 1.0. Missing headers are read as 1.0.

use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use axum::http::HeaderMap;

/// The protobuf message of remote-write 1.0, as named by 2.0's `proto` parameter.
const V1_MESSAGE: &str = "prometheus.WriteRequest";

/// `Err` with the 415 reason when the headers announce a body this receiver cannot read.
pub fn supported(headers: &HeaderMap) -> Result<(), String> {
    if let Some(v) = headers.get(CONTENT_ENCODING) {
        let enc = String::from_utf8_lossy(v.as_bytes());
        if !enc.trim().eq_ignore_ascii_case("snappy") {
            return Err(format!(
                "unsupported Content-Encoding {:?}: remote-write bodies must be snappy block-compressed (Content-Encoding: snappy)",
                enc.trim()
            ));
        }
    }
    if let Some(v) = headers.get(CONTENT_TYPE) {
        let ct = String::from_utf8_lossy(v.as_bytes());
        let mut parts = ct.split(';');
        let mime = parts.next().unwrap_or_default().trim();
        if !mime.eq_ignore_ascii_case("application/x-protobuf") {
            return Err(format!(
                "unsupported Content-Type {:?}: remote-write 1.0 sends application/x-protobuf",
                ct.trim()
            ));
        }
        for param in parts {
            let Some((k, v)) = param.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"');
            if k.trim().eq_ignore_ascii_case("proto") && v != V1_MESSAGE {
                return Err(format!(
                    "unsupported remote-write message {v:?}: this receiver speaks remote-write 1.0 ({V1_MESSAGE}); configure the sender with protobuf_message: {V1_MESSAGE}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn remote_write_1_0_and_missing_headers_are_read() {
        for h in [
            headers(&[]),
            headers(&[
                ("content-encoding", "snappy"),
                ("content-type", "application/x-protobuf"),
            ]),
            headers(&[
                ("content-encoding", "Snappy"),
                (
                    "content-type",
                    "Application/X-Protobuf; proto=prometheus.WriteRequest",
                ),
            ]),
            headers(&[(
                "content-type",
                "application/x-protobuf;proto=\"prometheus.WriteRequest\"",
            )]),
        ] {
            assert_eq!(supported(&h), Ok(()), "{h:?}");
        }
    }

    #[test]
    fn other_encodings_types_and_remote_write_2_0_are_refused_by_name() {
        let cases = [
            (headers(&[("content-encoding", "gzip")]), "\"gzip\""),
            (
                headers(&[("content-encoding", "")]),
                "Content-Encoding \"\"",
            ),
            (
                headers(&[("content-type", "application/json")]),
                "application/json",
            ),
            (
                headers(&[(
                    "content-type",
                    "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                )]),
                "io.prometheus.write.v2.Request",
            ),
        ];
        for (h, named) in cases {
            let e = supported(&h).unwrap_err();
            assert!(e.contains(named), "{e}");
        }
    }
}
