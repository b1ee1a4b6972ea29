module example.com/go-proxy

go 1.21

require micron.dev/sdk/go v0.0.0

// `micron build` always points this at the SDK of the micron doing the build;
// the path here makes plain `go build`/`go vet`/gopls work inside the repository.
replace micron.dev/sdk/go => ../../sdk/go
