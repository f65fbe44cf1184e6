package main

import (
	"context"
	_ "embed"

	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	randomwrap "github.com/terraform-providers/terraform-provider-random/pulumiwrap"
)

//go:embed schema.json
var schema []byte

func main() {
	pftfbridge.Main(context.Background(), "random", randomwrap.Provider(),
		pftfbridge.ProviderMetadata{PackageSchema: schema})
}
