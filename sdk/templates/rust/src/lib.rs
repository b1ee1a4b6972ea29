//! A Micron HTTP function. Build it with `micron build .`, which writes a
//! `wasi:http` component next to this project.

use micron::{json, Method, Request, Response};

fn handle(req: Request) -> Response {
    match (req.method(), req.segments().as_slice()) {
        (Method::Get, []) => Response::text("Hello from Rust!\n"),
        (Method::Get, ["hello", name]) => {
            micron::log!("greeting {}", name);
            Response::json(format!("{{\"hello\":{}}}", json::quote(name)))
        }
        (Method::Post, ["echo"]) => match req.body() {
            Ok(body) => Response::new(200).with_body(body),
            Err(e) => Response::text(format!("{}\n", e)).with_status(400),
        },
        _ => Response::text("not found\n").with_status(404),
    }
}

micron::export_handler!(handle);
