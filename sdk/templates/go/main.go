// A Micron function in Go: an ordinary net/http handler, run by micron.Serve
// once per request.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"micron.dev/sdk/go/micron"
)

func main() {
	micron.Serve(newMux())
}

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Hello from Go!")
	})
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"hello":    r.PathValue("name"),
			"greeting": os.Getenv("GREETING"), // the function's configured environment
		})
	})
	return mux
}
