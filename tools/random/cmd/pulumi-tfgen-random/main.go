package main

import (
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	randomwrap "github.com/terraform-providers/terraform-provider-random/pulumiwrap"
)

func main() { pftfgen.Main("random", randomwrap.Provider()) }
