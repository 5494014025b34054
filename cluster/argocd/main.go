// Command argocd is the part of Argo CD the project's tests run against the dev
// cluster: the application controller and the repo server (and the Git ask-pass
// helper the repo server calls itself as), as one multi-call binary built from
// the Go module proxy. Like Argo CD's own cmd/main.go it dispatches on the name
// it was called by (argv[0], or $ARGOCD_BINARY_NAME); it leaves out the API
// server, the CLI, Dex and the other controllers, so a cold build compiles a
// fraction of Argo CD.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	appcontroller "github.com/argoproj/argo-cd/v2/cmd/argocd-application-controller/commands"
	gitaskpass "github.com/argoproj/argo-cd/v2/cmd/argocd-git-ask-pass/commands"
	reposerver "github.com/argoproj/argo-cd/v2/cmd/argocd-repo-server/commands"
	"github.com/argoproj/argo-cd/v2/cmd/util"
)

func main() {
	name := filepath.Base(os.Args[0])
	if fromEnv := os.Getenv("ARGOCD_BINARY_NAME"); fromEnv != "" {
		name = fromEnv
	}
	var command *cobra.Command
	isCLI := false
	switch name {
	case "argocd-application-controller":
		command = appcontroller.NewCommand()
	case "argocd-repo-server":
		command = reposerver.NewCommand()
	case "argocd-git-ask-pass":
		command = gitaskpass.NewCommand()
		isCLI = true
	default:
		fmt.Fprintf(os.Stderr, "argocd: called as %q; call it as argocd-application-controller, "+
			"argocd-repo-server or argocd-git-ask-pass (a link, or $ARGOCD_BINARY_NAME)\n", name)
		os.Exit(2)
	}
	util.SetAutoMaxProcs(isCLI)
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
