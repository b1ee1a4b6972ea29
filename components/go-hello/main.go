// go-hello answers every request with 200 text/plain "Hello from Go!\n".
package main

import (
	"io"
	"net/http"

	"micron.dev/sdk/go/micron"
)

func main() {
	micron.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "Hello from Go!\n")
	}))
}
