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
    let mut r = send(socket, method, path, body)?;
    let (status, headers) = read_head(&mut r)?;
    let body = read_body(r, status, &headers)?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// An answer whose body is read as it arrives.
pub struct Streaming {
    /// Status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body (decoded from chunked transfer if it is), to its end.
    pub body: Box<dyn Read + Send>,
}

/// Sends `method path` with `body` and returns the answer's head, its body
/// left to read as the engine writes it (a container's output).
pub fn request_streaming(
    socket: &Path,
    method: &str,
    path: &str,
    body: Body<'_>,
) -> Result<Streaming, HttpError> {
    let mut r = send(socket, method, path, body)?;
    let (status, headers) = read_head(&mut r)?;
    let chunked =
        header(&headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let body: Box<dyn Read + Send> = if chunked {
        Box::new(Chunked {
            inner: r,
            left: 0,
            done: false,
        })
    } else if let Some(len) = header(&headers, "content-length").and_then(|l| l.parse().ok()) {
        Box::new(r.take(len))
    } else {
        Box::new(r)
    };
    Ok(Streaming {
        status,
        headers,
        body,
    })
}

fn send(
    socket: &Path,
    method: &str,
    path: &str,
    body: Body<'_>,
) -> Result<BufReader<UnixStream>, HttpError> {
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
    Ok(BufReader::new(stream))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The status line and headers.
fn read_head<R: BufRead>(r: &mut R) -> Result<(u16, Vec<(String, String)>), HttpError> {
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
    Ok((status, headers))
}

#[cfg(test)]
fn read_response<R: BufRead>(mut r: R) -> Result<Response, HttpError> {
    let (status, headers) = read_head(&mut r)?;
    let body = read_body(r, status, &headers)?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// The whole body, at most [`MAX_BODY`] bytes.
fn read_body<R: BufRead>(
    r: R,
    status: u16,
    headers: &[(String, String)],
) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    if status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(body);
    }
    let chunked =
        header(headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let reader: Box<dyn Read + '_> = if chunked {
        Box::new(Chunked {
            inner: r,
            left: 0,
            done: false,
        })
    } else if let Some(len) = header(headers, "content-length") {
        let len: u64 = len
            .parse()
            .map_err(|_| HttpError::Protocol(format!("bad Content-Length {len:?}")))?;
        if len > MAX_BODY {
            return Err(HttpError::Protocol("the answer is too large".into()));
        }
        body.reserve(len as usize);
        let mut r = r.take(len);
        r.read_to_end(&mut body)?;
        if (body.len() as u64) < len {
            return Err(HttpError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        return Ok(body);
    } else {
        Box::new(r)
    };
    reader.take(MAX_BODY + 1).read_to_end(&mut body)?;
    if body.len() as u64 > MAX_BODY {
        return Err(HttpError::Protocol("the answer is too large".into()));
    }
    Ok(body)
}

/// A chunked transfer-encoded body, decoded.
struct Chunked<R> {
    inner: R,
    /// Bytes left in the current chunk.
    left: u64,
    done: bool,
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            self.inner.read_line(&mut line)?;
            let size_text = line.trim().split(';').next().unwrap_or_default();
            let size = u64::from_str_radix(size_text, 16).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad chunk size {size_text:?}"),
                )
            })?;
            if size == 0 {
                self.done = true;
                return Ok(0);
            }
            self.left = size;
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= n as u64;
        if self.left == 0 {
            // The chunk's closing line break.
            let mut crlf = String::new();
            self.inner.read_line(&mut crlf)?;
        }
        Ok(n)
    }
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
