package micron

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// ResponseWriter is the http.ResponseWriter Serve hands to the handler. It
// buffers the whole response, because the status and headers must precede
// the body on stdout and a handler may set them late; WriteCGI then emits it
// in the contract's format.
type ResponseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// NewResponseWriter returns an empty response (status 200 unless set).
func NewResponseWriter() *ResponseWriter {
	return &ResponseWriter{header: http.Header{}}
}

// Header returns the response headers to set before the first Write.
func (w *ResponseWriter) Header() http.Header { return w.header }

// WriteHeader sets the status code; only the first call counts, as in net/http.
func (w *ResponseWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("micron: invalid WriteHeader code %v", code))
	}
	w.status = code
}

// Write appends to the body, sending status 200 if none was set and sniffing
// a Content-Type if none was set (like net/http).
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.body.Len() == 0 && len(p) > 0 && w.header.Get("Content-Type") == "" && w.header.Get("Transfer-Encoding") == "" {
		w.header.Set("Content-Type", http.DetectContentType(p))
	}
	return w.body.Write(p)
}

// Flush is a no-op: the response leaves in one piece when the handler returns.
func (w *ResponseWriter) Flush() {}

// Status is the status the response will have.
func (w *ResponseWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Body is the body written so far.
func (w *ResponseWriter) Body() []byte { return w.body.Bytes() }

// WriteCGI writes the response in the contract's format: "Status: NNN text",
// the header lines, a blank line, the body; lines end in CRLF.
func (w *ResponseWriter) WriteCGI(out io.Writer) error {
	status := w.Status()
	if _, err := fmt.Fprintf(out, "Status: %d %s\r\n", status, http.StatusText(status)); err != nil {
		return err
	}
	// The host frames the body itself.
	w.header.Del("Content-Length")
	w.header.Del("Transfer-Encoding")
	if err := w.header.Write(out); err != nil {
		return err
	}
	if _, err := io.WriteString(out, "\r\n"); err != nil {
		return err
	}
	_, err := out.Write(w.body.Bytes())
	return err
}
