package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	dockerwrap "github.com/terraform-providers/terraform-provider-docker/pulumiwrap"
)

func main() { tfgen.Main("docker", dockerwrap.Version, dockerwrap.Provider()) }
