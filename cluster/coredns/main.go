// Command coredns is the dev cluster's DNS server: CoreDNS with only the plugins the
// cluster's Corefile uses, so that a cold build compiles a fraction of CoreDNS's
// dependencies (no cloud DNS providers, no etcd, no tracing back ends).
package main

import (
	"fmt"
	"os"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	// The plugins of the cluster's Corefile, and nothing else.
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

// directives in CoreDNS's own execution order (core/dnsserver/zdirectives.go),
// restricted to the plugins imported above.
var directives = []string{
	"ready",
	"health",
	"errors",
	"log",
	"loadbalance",
	"cache",
	"kubernetes",
}

func main() {
	if err := dnsserver.SetDirectives(directives); err != nil {
		fmt.Fprintln(os.Stderr, "coredns:", err)
		os.Exit(2)
	}
	coremain.Run()
}
