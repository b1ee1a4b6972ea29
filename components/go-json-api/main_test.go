package main

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// Runs natively (`go test` in this folder): the handler is plain net/http.
func TestRoutes(t *testing.T) {
	cases := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/items/42", "", 200, `{"id":"42"}`},
		{"POST", "/items", `{"name":"x"}`, 201, `{"name":"x"}`},
		{"POST", "/items", `nope`, 400, `{"error":"body must be JSON"}`},
		{"GET", "/nowhere", "", 404, `{"error":"not found"}`},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		newMux().ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader(c.body)))
		if rec.Code != c.status || strings.TrimSpace(rec.Body.String()) != c.want {
			t.Errorf("%s %s: got %d %s, want %d %s", c.method, c.path, rec.Code, rec.Body.String(), c.status, c.want)
		}
	}
}
