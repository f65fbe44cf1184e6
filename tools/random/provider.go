// Package randomwrap is a hand-written Pulumi bridge configuration for the
// upstream hashicorp/terraform-provider-random (plugin framework).
package randomwrap

import (
	_ "embed"
	"fmt"
	"strings"

	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	// Importable only because this module's path is rooted at the upstream module path.
	upstream "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

const Version = "4.21.2"

//go:embed cmd/pulumi-resource-random/bridge-metadata.json
var bridgeMetadata []byte

func upperCamel(tf string) string {
	parts := strings.Split(tf, "_")
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}

func tok(kind string, tf string) string {
	name := upperCamel(tf) // random_password -> RandomPassword
	if kind == "fn" {
		name = "get" + name
	}
	return fmt.Sprintf("random:index/%s:%s", strings.ToLower(name[:1])+name[1:], name)
}

func Provider() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            pftfbridge.ShimProvider(upstream.New()),
		Name:         "random",
		Version:      Version,
		GitHubOrg:    "hashicorp",
		Repository:   "https://github.com/pulumi/pulumi-random",
		MetadataInfo: tfbridge.NewProviderMetadata(bridgeMetadata),
		Resources:    map[string]*tfbridge.ResourceInfo{},
	}
	info.MustComputeTokens(tfbridge.Strategy{
		Resource: func(tf string, r *tfbridge.ResourceInfo) error {
			if r.Tok == "" {
				r.Tok = tokens.Type(tok("res", tf))
			}
			return nil
		},
		DataSource: func(tf string, d *tfbridge.DataSourceInfo) error {
			if d.Tok == "" {
				d.Tok = tokens.ModuleMember(tok("fn", tf))
			}
			return nil
		},
	})
	info.SetAutonaming(255, "-")
	return info
}
