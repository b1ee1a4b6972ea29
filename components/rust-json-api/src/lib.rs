//! A small JSON API: routes matched on the path's segments, JSON written
//! and checked by hand (there is no serde offline).
//!
//! - `GET /items/:id` → 200 `{"id":"<id>"}`
//! - `POST /items` with a JSON body → 201 with the body echoed
//! - anything else under `/items` → 405; elsewhere → 404 (JSON errors)

use micron::{json, Method, Request, Response};

fn route(req: Request) -> Response {
    match (req.method(), req.segments().as_slice()) {
        (Method::Get, ["items", id]) => get_item(id),
        (Method::Post, ["items"]) => create_item(&req),
        (_, ["items"]) | (_, ["items", _]) => error(405, "method not allowed"),
        _ => error(404, "not found"),
    }
}

fn get_item(id: &str) -> Response {
    let mut body = String::from("{\"id\":");
    body.push_str(&json::quote(id));
    body.push('}');
    Response::json(body)
}

fn create_item(req: &Request) -> Response {
    let body = match req.text() {
        Ok(body) => body,
        Err(e) => return error(400, e.message()),
    };
    if json::validate(&body).is_err() {
        return error(400, "the body is not valid JSON");
    }
    Response::json(body).with_status(201)
}

fn error(status: u16, message: &str) -> Response {
    let mut body = String::from("{\"error\":");
    body.push_str(&json::quote(message));
    body.push('}');
    Response::json(body).with_status(status)
}

micron::export_handler!(route);
