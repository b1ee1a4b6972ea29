// Package micron runs a Go net/http handler as a Micron function.
//
// A Go function is a WASI preview 1 command (GOOS=wasip1 GOARCH=wasm) that
// handles exactly one request per run, CGI style: the request arrives in
// environment variables (REQUEST_METHOD, REQUEST_URI, HTTP_*, ...) and on
// stdin (the body); the response leaves on stdout as a "Status:" line,
// header lines, a blank line and the body. Serve does both conversions, so a
// function is an ordinary http.Handler:
//
//	func main() {
//		micron.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//			w.Header().Set("Content-Type", "text/plain")
//			io.WriteString(w, "Hello from Go!\n")
//		}))
//	}
//
// Outbound HTTP goes through the host: http.Get, http.Post and
// http.DefaultClient use Transport, and a client of your own names it
// (&http.Client{Transport: &micron.Transport{}}). The host allows only the
// destinations in the function's allowedHosts, and pauses the program while
// it waits for a response (see Transport).
//
// The contract is written down in the SDK's README.md. Outside wasip1
// (go test on your machine) the package builds too, so handlers can be
// tested with net/http/httptest as usual.
package micron
