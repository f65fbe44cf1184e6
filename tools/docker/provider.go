// Package dockerwrap is a hand-written Pulumi bridge configuration for
// kreuzwerker/terraform-provider-docker (SDKv2 half only).
package dockerwrap

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"

	// Importable only because this module's path is rooted at the upstream module path.
	upstream "github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

const Version = "5.2.0"

//go:embed cmd/pulumi-resource-docker/bridge-metadata.json
var bridgeMetadata []byte

func Provider() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            shimv2.NewProvider(upstream.New(Version)()),
		Name:         "docker",
		Version:      Version,
		GitHubOrg:    "kreuzwerker",
		Repository:   "https://github.com/pulumi/pulumi-docker",
		MetadataInfo: tfbridge.NewProviderMetadata(bridgeMetadata),
		Resources: map[string]*tfbridge.ResourceInfo{
			// Pulumi names TF docker_image "RemoteImage"; "Image" is a native (non-TF) resource.
			"docker_image":  {Tok: "docker:index/remoteImage:RemoteImage"},
			"docker_config": {Tok: "docker:index/serviceConfig:ServiceConfig"},
			"docker_container": {Fields: map[string]*tfbridge.SchemaInfo{
				// @pulumi/docker keeps these names un-pluralised.
				"command":           {Name: "command"},
				"networks_advanced": {Name: "networksAdvanced"},
			}},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image": {Tok: "docker:index/getRemoteImage:getRemoteImage"},
		},
	}
	info.MustComputeTokens(tokens.SingleModule("docker_", "index", tokens.MakeStandard("docker")))
	return info
}
