package micron

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRequestFromEnvBuildsTheRequestTheHostDescribes(t *testing.T) {
	env := []string{
		"REQUEST_METHOD=POST",
		"REQUEST_URI=/a%20b/c?x=1&y=2",
		"PATH_INFO=/a b/c",
		"QUERY_STRING=x=1&y=2",
		"SERVER_PROTOCOL=HTTP/1.1",
		"SERVER_NAME=example.com",
		"SERVER_PORT=8080",
		"HTTPS=off",
		"CONTENT_TYPE=application/json",
		"CONTENT_LENGTH=4",
		"HTTP_HOST=example.com:8080",
		"HTTP_X_CUSTOM_THING=a, b",
		"HTTP_PROXY=http://evil",
		"REMOTE_ADDR=10.0.0.1",
	}
	req, err := RequestFromEnv(env, strings.NewReader("body and more"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	checks := map[string][2]string{
		"method":       {req.Method, "POST"},
		"path":         {req.URL.Path, "/a b/c"},
		"raw query":    {req.URL.RawQuery, "x=1&y=2"},
		"host":         {req.Host, "example.com:8080"},
		"url host":     {req.URL.Host, "example.com:8080"},
		"scheme":       {req.URL.Scheme, "http"},
		"content-type": {req.Header.Get("Content-Type"), "application/json"},
		"custom":       {req.Header.Get("X-Custom-Thing"), "a, b"},
		"proxy":        {req.Header.Get("Proxy"), ""},
		"body":         {string(body), "body"},
		"request uri":  {req.RequestURI, "/a%20b/c?x=1&y=2"},
		"remote":       {req.RemoteAddr, "10.0.0.1:0"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s: got %q, want %q", name, c[0], c[1])
		}
	}
	if req.ContentLength != 4 {
		t.Errorf("content length %d", req.ContentLength)
	}
}

func TestRequestFromEnvRejectsWhatTheHostNeverSends(t *testing.T) {
	for _, env := range [][]string{
		{},
		{"REQUEST_METHOD=GET", "CONTENT_LENGTH=-1"},
		{"REQUEST_METHOD=GET", "SERVER_PROTOCOL=SPDY"},
	} {
		if _, err := RequestFromEnv(env, http.NoBody); err == nil {
			t.Errorf("%v: no error", env)
		}
	}
}

func TestResponseWriterWritesTheContractFormat(t *testing.T) {
	w := NewResponseWriter()
	w.Header().Set("X-A", "1")
	w.Header().Set("Content-Length", "999") // the host frames the body
	w.WriteHeader(http.StatusCreated)
	w.WriteHeader(http.StatusTeapot) // ignored, as in net/http
	io.WriteString(w, `{"ok":true}`)
	var out bytes.Buffer
	if err := w.WriteCGI(&out); err != nil {
		t.Fatal(err)
	}
	want := "Status: 201 Created\r\nContent-Type: text/plain; charset=utf-8\r\nX-A: 1\r\n\r\n{\"ok\":true}"
	if out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}
}

func TestServeRecoversFromAPanicWith500(t *testing.T) {
	rw := NewResponseWriter()
	req, _ := RequestFromEnv([]string{"REQUEST_METHOD=GET", "REQUEST_URI=/"}, http.NoBody)
	ok := serveRecovering(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), rw, req)
	if ok {
		t.Fatal("panic not reported")
	}
}

func TestSendThroughHostWritesTheWireFormatAndReadsTheResponse(t *testing.T) {
	var wire string
	var timeout uint32
	host := func(w []byte, ms uint32) (uint32, []byte) {
		wire, timeout = string(w), ms
		return outboundResponse, []byte("HTTP/1.1 201 Created\r\ncontent-type: text/x-test\r\nset-cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 5\r\n\r\nhello")
	}
	req, _ := http.NewRequest("POST", "http://user:pw@api.example.com:8080/a%20b?x=1#frag", strings.NewReader("body!"))
	req.Header.Set("X-A", "1")
	resp, err := sendThroughHost(req, host)
	if err != nil {
		t.Fatal(err)
	}
	want := "POST http://api.example.com:8080/a%20b?x=1 HTTP/1.1\r\n" +
		"Authorization: Basic dXNlcjpwdw==\r\nUser-Agent: Go-http-client/1.1\r\nX-A: 1\r\n" +
		"Content-Length: 5\r\n\r\nbody!"
	if wire != want {
		t.Errorf("wire:\n%q\nwant\n%q", wire, want)
	}
	if timeout != 0 {
		t.Errorf("timeout %d without a deadline", timeout)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || string(body) != "hello" || resp.Header.Get("Content-Type") != "text/x-test" || len(resp.Header.Values("Set-Cookie")) != 2 {
		t.Errorf("response %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp.Request != req {
		t.Error("the response does not point at its request")
	}
}

func TestSendThroughHostPassesTheDeadlineAndReturnsHostErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var timeout uint32
	host := func(w []byte, ms uint32) (uint32, []byte) {
		timeout = ms
		return outboundFailed, []byte("denied\nmicron: outbound request denied: host \"x\" is not in this function's allowedHosts")
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://x/", nil)
	_, err := sendThroughHost(req, host)
	var oe *OutboundError
	if !errors.As(err, &oe) || oe.Kind != "denied" || !strings.Contains(err.Error(), `host "x" is not in`) || oe.Timeout() {
		t.Fatalf("error %#v", err)
	}
	if timeout < 1900 || timeout > 2000 {
		t.Errorf("timeout %d ms, want about 2000", timeout)
	}
}

func TestSendThroughHostRefusesWhatItCannotSend(t *testing.T) {
	called := false
	host := func([]byte, uint32) (uint32, []byte) { called = true; return outboundFailed, nil }
	req, _ := http.NewRequest("GET", "ftp://x/", nil)
	if _, err := sendThroughHost(req, host); err == nil || !strings.Contains(err.Error(), "not an absolute http or https URL") {
		t.Errorf("ftp: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", "http://x/", nil)
	if _, err := sendThroughHost(req, host); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if called {
		t.Error("the host was asked")
	}
}
