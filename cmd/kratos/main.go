// Command kratos builds the Ory Kratos identity server from its Go module, so that
// Clientele needs no prebuilt binary. It is a nested module to keep Kratos's large
// dependency tree out of the main module.
package main

import "github.com/ory/kratos/cmd"

func main() { cmd.Execute() }
