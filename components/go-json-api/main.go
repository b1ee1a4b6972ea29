// go-json-api is a small JSON API on net/http's ServeMux:
//
//	GET  /items/{id}  200 {"id": "<id>"}
//	POST /items       201 with the posted JSON echoed back (400 if it is not JSON)
//	anything else     404 {"error": "not found"}
package main

import (
	"encoding/json"
	"io"
	"net/http"

	"micron.dev/sdk/go/micron"
)

func main() {
	micron.Serve(newMux())
}

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	})
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var item any
		if err != nil || json.Unmarshal(body, &item) != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON"})
			return
		}
		writeJSON(w, http.StatusCreated, item)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
