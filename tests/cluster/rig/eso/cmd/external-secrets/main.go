// Command external-secrets runs External Secrets Operator's controllers for the test rig: exactly what ESO's own
// main.go does (github.com/external-secrets/external-secrets@v0.20.4, main.go), whose package cannot be imported.
// The root command runs only the controllers; the webhook and the cert controller are subcommands the rig never
// starts. There is no --kubeconfig flag: controller-runtime reads KUBECONFIG.
package main

import "github.com/external-secrets/external-secrets/cmd/controller"

func main() {
	controller.Execute()
}
