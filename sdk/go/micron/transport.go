package micron

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Transport is the http.RoundTripper for outbound HTTP from a Micron
// function. Under wasip1 the package installs it as http.DefaultClient's
// transport when it is initialised, so http.Get, http.Post and
// http.DefaultClient.Do go through it; a client of your own names it:
//
//	resp, err := http.Get("https://api.example.com/v1/items")
//
//	client := &http.Client{Transport: &micron.Transport{}, Timeout: 5 * time.Second}
//
// (http.DefaultTransport is left alone: referring to it would link
// net/http's socket transport, about 3 MB, into every function. A client
// without a Transport uses it and fails under wasip1, which has no sockets;
// set http.DefaultTransport = &micron.Transport{} in main if you rely on
// that.)
//
// Each request goes to the host (the micron:http/outbound interface), which
// checks the URL against the function's allowedHosts, makes the request, and
// hands back the whole response. While the response is on its way the Go
// program is paused, so the host serves other requests meanwhile; the
// request's context deadline (http.Client.Timeout) bounds the wait, and so
// does the invocation's own deadline.
//
// A request the host refuses or cannot complete fails with an
// *OutboundError, e.g. `micron: outbound request denied: host
// "example.com" is not in this function's allowedHosts`.
//
// The host follows no redirects: an http.Client does that itself, and each
// hop is checked against the allow-list again. Response bodies arrive
// decompressed (without Content-Encoding). req.Host is not sent (the Host
// header always names the URL's host, as with wasi:http).
//
// Outside wasip1 (go test on a developer's machine) RoundTrip hands the
// request to net/http's own default transport, so handlers can be tested
// against httptest servers as usual.
type Transport struct{}

// OutboundError is an outbound request the host refused or could not
// complete.
type OutboundError struct {
	// Kind is what went wrong: "denied" (not on the allow-list),
	// "invalid-request" (not an absolute http/https URL, a malformed header),
	// "too-large" (request or response over the function's limits),
	// "timeout", "connection" (DNS, refused, reset, TLS...), or "unavailable"
	// (the host cannot wait here, e.g. during init before Serve).
	Kind string
	// Message is the host's explanation.
	Message string
}

// Error returns the host's message.
func (e *OutboundError) Error() string { return e.Message }

// Timeout reports whether the request ran out of time, as net.Error does,
// so that http.Client reports it as a timeout.
func (e *OutboundError) Timeout() bool { return e.Kind == "timeout" }

// Results of the host's state function (see wit/deps/micron-http@0.1.0).
const (
	outboundPending  = 0
	outboundResponse = 1
	outboundFailed   = 2
)

// RoundTrip sends req through the host and returns its response, whose
// body is already complete in memory.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return roundTrip(req)
}

// exchange hands one encoded request to the host and returns the ticket's
// final state and result (outbound_wasip1.go; tests pass their own).
type exchange func(wire []byte, timeoutMs uint32) (state uint32, result []byte)

// sendThroughHost is RoundTrip over an exchange: it encodes the request,
// passes its context's deadline on, and decodes the answer.
func sendThroughHost(req *http.Request, host exchange) (*http.Response, error) {
	body, err := readRequestBody(req)
	if err != nil {
		return nil, err
	}
	wire, err := encodeRequest(req, body)
	if err != nil {
		return nil, err
	}
	timeoutMs, err := timeoutOf(req.Context())
	if err != nil {
		return nil, err
	}
	state, result := host(wire, timeoutMs)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return decodeResult(state, result, req)
}

// readRequestBody reads and closes the request's body (the host sends it
// whole, with a Content-Length).
func readRequestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("micron: reading the outbound request body: %w", err)
	}
	return body, nil
}

// encodeRequest writes req as the host expects it: an HTTP/1.1 request with
// the absolute URL in the request line, the headers, a Content-Length, and
// the body. User information in the URL becomes basic authentication, as
// net/http's own transport does.
func encodeRequest(req *http.Request, body []byte) ([]byte, error) {
	if req.URL == nil {
		return nil, errors.New("micron: outbound request has no URL")
	}
	u := *req.URL
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, &OutboundError{Kind: "invalid-request", Message: fmt.Sprintf("micron: outbound request URL %q is not an absolute http or https URL", req.URL.String())}
	}
	header := req.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if u.User != nil {
		if header.Get("Authorization") == "" {
			password, _ := u.User.Password()
			header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+password)))
		}
		u.User = nil
	}
	u.Fragment, u.RawFragment = "", ""
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	// Framing is the host's business.
	for _, name := range []string{"Content-Length", "Transfer-Encoding", "Connection", "Host"} {
		header.Del(name)
	}
	// As net/http's transport: a default User-Agent, none when it is set to "".
	if ua, ok := header["User-Agent"]; !ok {
		header.Set("User-Agent", "Go-http-client/1.1")
	} else if len(ua) == 1 && ua[0] == "" {
		header.Del("User-Agent")
	}

	var b bytes.Buffer
	b.Grow(256 + len(body))
	b.WriteString(method)
	b.WriteByte(' ')
	b.WriteString(u.String())
	b.WriteString(" HTTP/1.1\r\n")
	if err := header.Write(&b); err != nil {
		return nil, err
	}
	if len(body) > 0 || (method != http.MethodGet && method != http.MethodHead) {
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes(), nil
}

// timeoutOf turns the context's deadline into whole milliseconds for the
// host (0: none), or fails when it has passed already.
func timeoutOf(ctx context.Context) (uint32, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0, nil
	}
	left := time.Until(deadline)
	if left <= 0 {
		return 0, context.DeadlineExceeded
	}
	ms := (left + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxUint32 {
		return 0, nil
	}
	return uint32(ms), nil
}

// decodeResult turns the host's answer into a response (an HTTP/1.1
// response with a Content-Length) or an *OutboundError ("kind\nmessage").
func decodeResult(state uint32, result []byte, req *http.Request) (*http.Response, error) {
	switch state {
	case outboundResponse:
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(result)), req)
		if err != nil {
			return nil, fmt.Errorf("micron: the host's outbound response does not parse: %w", err)
		}
		return resp, nil
	case outboundFailed:
		kind, message, _ := strings.Cut(string(result), "\n")
		return nil, &OutboundError{Kind: kind, Message: message}
	default:
		return nil, &OutboundError{Kind: "unavailable", Message: fmt.Sprintf("micron: the host lost the outbound request (state %d)", state)}
	}
}
