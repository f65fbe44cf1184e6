package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	dockerwrap "github.com/terraform-providers/terraform-provider-docker/pulumiwrap"
)

//go:embed schema.json
var schema []byte

func main() { tfbridge.Main("docker", dockerwrap.Version, dockerwrap.Provider(), schema) }
