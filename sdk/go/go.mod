module micron.dev/sdk/go

go 1.21
