module function

go 1.22

require micron.dev/sdk/go v0.0.0

// `micron build` resolves micron.dev/sdk/go to the SDK that ships with
// Micron by itself. For plain `go build`, `go test` or gopls, point this at
// that folder (Micron's sdk/go):
// replace micron.dev/sdk/go => /path/to/micron/sdk/go
