package micron

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// RequestFromEnv builds the request of a CGI-style invocation from the
// environment (KEY=value strings, as os.Environ returns them: REQUEST_METHOD,
// REQUEST_URI, HTTP_*, ...) and the body (stdin). It is exported so that
// tests can build exactly the request the host would pass.
func RequestFromEnv(env []string, body io.Reader) (*http.Request, error) {
	vars := make(map[string]string, len(env))
	header := http.Header{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
		// HTTP_PROXY is never a header: see https://httpoxy.org.
		if strings.HasPrefix(k, "HTTP_") && k != "HTTP_PROXY" {
			header.Add(textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(k[5:], "_", "-")), v)
		}
	}
	getenv := func(k string) string { return vars[k] }

	method := getenv("REQUEST_METHOD")
	if method == "" {
		return nil, errors.New("REQUEST_METHOD is not set")
	}
	proto := getenv("SERVER_PROTOCOL")
	if proto == "" {
		proto = "HTTP/1.1"
	}
	major, minor, ok := http.ParseHTTPVersion(proto)
	if !ok {
		return nil, fmt.Errorf("bad SERVER_PROTOCOL %q", proto)
	}

	uri := getenv("REQUEST_URI")
	if uri == "" {
		uri = getenv("PATH_INFO")
		if q := getenv("QUERY_STRING"); q != "" {
			uri += "?" + q
		}
	}
	if uri == "" {
		uri = "/"
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, fmt.Errorf("bad REQUEST_URI %q: %w", uri, err)
	}

	if ct := getenv("CONTENT_TYPE"); ct != "" {
		header.Set("Content-Type", ct)
	}

	contentLength := int64(-1)
	if cl := getenv("CONTENT_LENGTH"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad CONTENT_LENGTH %q", cl)
		}
		contentLength = n
	}
	if contentLength > 0 {
		header.Set("Content-Length", strconv.FormatInt(contentLength, 10))
		body = io.LimitReader(body, contentLength)
	} else if contentLength == 0 {
		body = http.NoBody
	}

	host := header.Get("Host")
	if host == "" {
		host = getenv("SERVER_NAME")
		if port := getenv("SERVER_PORT"); port != "" && port != "80" && port != "443" {
			host = net.JoinHostPort(host, port)
		}
	}
	header.Del("Host")
	u.Host = host
	u.Scheme = "http"
	if getenv("HTTPS") == "on" {
		u.Scheme = "https"
	}

	req := &http.Request{
		Method:        method,
		URL:           u,
		Proto:         proto,
		ProtoMajor:    major,
		ProtoMinor:    minor,
		Header:        header,
		Body:          io.NopCloser(body),
		ContentLength: contentLength,
		Host:          host,
		RequestURI:    uri,
	}
	if addr := getenv("REMOTE_ADDR"); addr != "" {
		req.RemoteAddr = net.JoinHostPort(addr, orDefault(getenv("REMOTE_PORT"), "0"))
	}
	return req.WithContext(context.Background()), nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
