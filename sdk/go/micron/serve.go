package micron

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
)

// Serve handles the one request of this run with h and writes the response
// to stdout. It returns after the response is written; it should be the last
// thing main does.
//
// A panic in h is recovered: the panic and its stack go to stderr (the
// host's log) and the client gets a plain 500, exactly as net/http's server
// would answer. A request the host passed malformed is answered with 400.
func Serve(h http.Handler) {
	if resumedFromSnapshot() {
		refreshEnviron()
	}
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	defer out.Flush()

	req, err := RequestFromEnv(os.Environ(), os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "micron: bad request from host: %v\n", err)
		writePlain(out, http.StatusBadRequest)
		return
	}
	rw := NewResponseWriter()
	if !serveRecovering(h, rw, req) {
		writePlain(out, http.StatusInternalServerError)
		return
	}
	if err := rw.WriteCGI(out); err != nil {
		fmt.Fprintf(os.Stderr, "micron: writing response: %v\n", err)
	}
}

// RequestID is the id the host gave this request (also in its logs), or "".
func RequestID() string {
	return os.Getenv("MICRON_REQUEST_ID")
}

func serveRecovering(h http.Handler, rw *ResponseWriter, req *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				return
			}
			fmt.Fprintf(os.Stderr, "micron: panic serving %s %s: %v\n%s", req.Method, req.URL.Path, v, debug.Stack())
			ok = false
		}
	}()
	h.ServeHTTP(rw, req)
	return true
}

func writePlain(w io.Writer, code int) {
	text := http.StatusText(code)
	fmt.Fprintf(w, "Status: %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\n", code, text, strings.ToLower(text))
}
