import { Request, ResponseWriter, sleep } from "micron/sdk/assemblyscript";

/**
 * The streaming handler shape. `POST /echo` streams the request body back as
 * it arrives; any other request gets `chunk 0` … `chunk 4`, one line every
 * 100 ms, each flushed to the client before the pause.
 */
export function handleStream(req: Request, res: ResponseWriter): void {
  if (req.method == "POST" && req.path == "/echo") {
    const type = req.header("content-type");
    res.setHeader("content-type", type != null ? type : "application/octet-stream");
    const body = req.reader();
    for (let chunk = body.read(); chunk != null; chunk = body.read()) res.writeBytes(chunk);
    return;
  }
  res.setHeader("content-type", "text/plain; charset=utf-8");
  for (let i = 0; i < 5; i++) {
    if (i > 0) sleep(100);
    res.write("chunk " + i.toString() + "\n");
    res.flush();
  }
}
