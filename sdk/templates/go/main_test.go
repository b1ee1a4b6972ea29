package main

import (
	"net/http/httptest"
	"testing"
)

// `go test` runs natively: the handler is plain net/http.
func TestHello(t *testing.T) {
	rec := httptest.NewRecorder()
	newMux().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || rec.Body.String() != "Hello from Go!\n" {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
}
