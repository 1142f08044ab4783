// Command pulumi-resource-kubernetes serves pulumi-kubernetes' provider for the test rig.
//
// The upstream main embeds schema-embed.json and terraform-mapping-embed.json, which its release build generates
// and the Go module does not contain. The rig's build script copies the module's committed schema.json and
// terraform-mapping.json here (they are git-ignored) and sets the version the engine asks for.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
)

// version is set with -ldflags "-X main.version=<the npm SDK's plugin version>".
var version = "0.0.0-dev"

//go:embed schema.json
var pulumiSchema []byte

//go:embed terraform-mapping.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version, pulumiSchema, terraformMapping)
}
