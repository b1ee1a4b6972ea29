// go-proxy shows what outbound HTTP does in a Go function today: it fails
// cleanly. A Go function is a WASI preview 1 command, and preview 1 has no
// sockets (Micron grants none), so net/http's client cannot dial; the
// handler turns that into a 502 with the error, instead of hanging or
// crashing. See README.md for why and for the way forward.
//
//	GET /?url=http://example.com/   502 {"error": "...", "supported": false}
package main

import (
	"encoding/json"
	"net/http"
	"time"

	"micron.dev/sdk/go/micron"
)

func main() {
	micron.Serve(http.HandlerFunc(proxy))
}

func proxy(w http.ResponseWriter, r *http.Request) {
	target := r.URL.Query().Get("url")
	if target == "" {
		target = "http://example.com/"
	}
	w.Header().Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(target)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		json.NewEncoder(w).Encode(map[string]any{"error": err.Error(), "supported": false})
		return
	}
	defer resp.Body.Close()
	// Not reached under Micron today; kept so the handler is correct wherever dialing works.
	w.WriteHeader(resp.StatusCode)
	json.NewEncoder(w).Encode(map[string]any{"status": resp.StatusCode, "supported": true})
}
