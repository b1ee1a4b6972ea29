//! Fetches `?url=` and streams the upstream response back. Outbound HTTP
//! only works for destinations the host's allow-list grants this function;
//! a refused request answers 403.

use std::io;

use micron::clock::Instant;
use micron::{ErrorKind, Request, Response};

fn proxy(req: Request) -> Response {
    let url = match req.query_param("url") {
        Some(url) => url,
        None => return Response::text("usage: /?url=https://example.com/\n").with_status(400),
    };
    let started = Instant::now();
    let upstream = match micron::fetch(&url) {
        Ok(upstream) => upstream,
        Err(e) if e.http_error_code() == Some("HTTP-request-denied") => {
            return Response::text("the host does not allow requests to this URL\n")
                .with_status(403)
        }
        Err(e) if e.kind() == ErrorKind::InvalidUrl => {
            return Response::text(format!("{}\n", e)).with_status(400)
        }
        Err(e) => {
            micron::elog!("fetch {} failed: {}", url, e);
            return Response::text(format!("upstream error: {}\n", e)).with_status(502);
        }
    };
    micron::log!(
        "fetch {} -> {} in {} ms",
        url,
        upstream.status(),
        started.elapsed().as_millis() as u64
    );

    let mut response = Response::new(upstream.status());
    if let Some(content_type) = upstream.header("content-type") {
        response = response.with_header("content-type", content_type);
    }
    match upstream.into_body_reader() {
        Ok(mut body) => response.with_stream(move |out| io::copy(&mut body, out).map(|_| ())),
        Err(_) => response,
    }
}

micron::export_handler!(proxy);
