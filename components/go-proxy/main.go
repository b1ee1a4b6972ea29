// go-proxy relays one upstream response: GET /?url=<absolute URL> fetches
// the URL with net/http over the host's outbound HTTP (micron.Transport)
// and answers with the upstream's status, Content-Type and body, plus
// X-Proxied-From. The host only lets it reach the hosts in the function's
// allowedHosts. See README.md for the contract.
package main

import (
	"encoding/json"
	"io"
	"net/http"

	"micron.dev/sdk/go/micron"
)

// client goes through the host (http.Get would too: the SDK makes
// micron.Transport http.DefaultClient's transport) and relays redirects
// instead of following them, like the other proxies.
var client = &http.Client{
	Transport:     &micron.Transport{},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func main() {
	micron.Serve(http.HandlerFunc(proxy))
}

func proxy(w http.ResponseWriter, r *http.Request) {
	target := r.URL.Query().Get("url")
	if target == "" {
		writeError(w, http.StatusBadRequest, "missing ?url=")
		return
	}
	resp, err := client.Get(target)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("X-Proxied-From", target)
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": message})
}
