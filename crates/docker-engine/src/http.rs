//! HTTP/1.1 over a unix socket: one request per connection, bodies sent
//! with a length, answers read by `Content-Length`, chunked encoding or to
//! the end of the connection.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// A request body.
pub enum Body<'a> {
    /// None.
    Empty,
    /// `len` bytes of `content_type` from a reader.
    Stream {
        /// `Content-Type`.
        content_type: &'a str,
        /// `Content-Length`.
        len: u64,
        /// The bytes.
        reader: &'a mut dyn Read,
    },
}

/// An answer.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body, decoded from chunked transfer if it was.
    pub body: Vec<u8>,
}

/// Errors of one exchange.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Connecting, sending or receiving failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The answer is not HTTP/1.x as expected.
    #[error("{0}")]
    Protocol(String),
}

/// Answers larger than this are refused (image loads answer with a few
/// progress lines; inspections with a few kilobytes).
const MAX_BODY: u64 = 64 << 20;

/// Sends `method path` with `body` to the socket and reads the answer.
pub fn request(
    socket: &Path,
    method: &str,
    path: &str,
    body: Body<'_>,
) -> Result<Response, HttpError> {
    let mut stream = UnixStream::connect(socket)?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: apkforge\r\nConnection: close\r\n"
    );
    match &body {
        Body::Empty => {
            if method == "POST" || method == "PUT" {
                head.push_str("Content-Length: 0\r\n");
            }
        }
        Body::Stream {
            content_type, len, ..
        } => {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {len}\r\n"
            ));
        }
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if let Body::Stream { len, reader, .. } = body {
        let sent = io::copy(&mut reader.take(len), &mut stream)?;
        if sent != len {
            return Err(HttpError::Protocol(format!(
                "the body was {sent} bytes, not the {len} announced"
            )));
        }
    }
    stream.flush()?;
    read_response(BufReader::new(stream))
}

fn read_response<R: BufRead>(mut r: R) -> Result<Response, HttpError> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Protocol(format!(
            "not an HTTP answer: {:?}",
            line.trim()
        )));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| HttpError::Protocol(format!("bad status line {:?}", line.trim())))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(HttpError::Protocol(
                "the answer ended in its headers".into(),
            ));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut body = Vec::new();
    if status == 204 || status == 304 || (100..200).contains(&status) {
        // No body.
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size_text = line.trim().split(';').next().unwrap_or_default();
            let size = u64::from_str_radix(size_text, 16)
                .map_err(|_| HttpError::Protocol(format!("bad chunk size {size_text:?}")))?;
            if size == 0 {
                break;
            }
            if body.len() as u64 + size > MAX_BODY {
                return Err(HttpError::Protocol("the answer is too large".into()));
            }
            let start = body.len();
            body.resize(start + size as usize, 0);
            r.read_exact(&mut body[start..])?;
            line.clear();
            r.read_line(&mut line)?;
        }
    } else if let Some(len) = header("content-length") {
        let len: u64 = len
            .parse()
            .map_err(|_| HttpError::Protocol(format!("bad Content-Length {len:?}")))?;
        if len > MAX_BODY {
            return Err(HttpError::Protocol("the answer is too large".into()));
        }
        body.resize(len as usize, 0);
        r.read_exact(&mut body)?;
    } else {
        r.take(MAX_BODY).read_to_end(&mut body)?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lengths_chunks_and_eof() {
        let r = read_response(&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"[..]).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hi"[..]));
        let r = read_response(
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"[..],
        )
        .unwrap();
        assert_eq!(r.body, b"abcde");
        let r = read_response(&b"HTTP/1.1 404 Not Found\r\n\r\n{\"message\":\"x\"}"[..]).unwrap();
        assert_eq!((r.status, r.body.len()), (404, 15));
        assert!(read_response(&b"SSH-2.0\r\n"[..]).is_err());
    }
}
