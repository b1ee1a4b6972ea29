//go:build !wasip1

package micron

import "net/http"

// nativeTransport is net/http's default transport, taken before anything can
// replace it (package variables are initialised before init functions run).
var nativeTransport = http.DefaultTransport

// roundTrip outside wasip1 (go test on a developer's machine) uses net/http's
// own transport, so handlers can be tested against httptest servers.
func roundTrip(req *http.Request) (*http.Response, error) {
	return nativeTransport.RoundTrip(req)
}
