//! The smallest Micron function in Rust: answers every request with a
//! greeting.

use micron::{Request, Response};

fn hello(_req: Request) -> Response {
    Response::text("Hello from Rust!\n")
}

micron::export_handler!(hello);
