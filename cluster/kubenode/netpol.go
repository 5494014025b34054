package main

// The NetworkPolicy enforcer of the dev cluster: kube-router's network-policy
// controller, run per node the way k3s embeds it. It programs iptables chains and
// ipsets in the namespace it runs in (the node's own), for the pods whose hostIP is
// that node's InternalIP.
//
// Why kube-router and not kube-network-policies: the latter hands packets to user
// space with the nftables `queue` expression, which this kernel's nf_tables lacks;
// kube-router needs only iptables (iptables-nft is fine) and ipset.

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/cloudnativelabs/kube-router/v2/pkg/controllers/netpol"
	"github.com/cloudnativelabs/kube-router/v2/pkg/healthcheck"
	"github.com/cloudnativelabs/kube-router/v2/pkg/options"
	"github.com/cloudnativelabs/kube-router/v2/pkg/utils"
	"github.com/coreos/go-iptables/iptables"
	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

type netpolOptions struct {
	kubeconfig   string
	nodeName     string
	serviceRange string
	syncPeriod   time.Duration
}

func newNetpolCommand() *cobra.Command {
	opts := netpolOptions{}
	command := &cobra.Command{
		Use:   "kube-router-netpol",
		Short: "enforce NetworkPolicies for the pods of one node (kube-router's controller)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runNetpol(ctx, opts)
		},
	}
	flags := command.Flags()
	flags.StringVar(&opts.kubeconfig, "kubeconfig", "", "kubeconfig of the node's client")
	flags.StringVar(&opts.nodeName, "hostname-override", "", "the Node this controller serves")
	flags.StringVar(&opts.serviceRange, "service-cluster-ip-range", "", "the Services' ClusterIP range")
	flags.DurationVar(&opts.syncPeriod, "sync-period", 5*time.Minute, "full resync interval")
	return command
}

func runNetpol(ctx context.Context, opts netpolOptions) error {
	if opts.nodeName == "" || opts.serviceRange == "" {
		return fmt.Errorf("--hostname-override and --service-cluster-ip-range are required")
	}
	restConfig, err := clientcmd.BuildConfigFromFlags("", opts.kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}
	// kube-router finds its Node by $NODE_NAME first, then the hostname; every dev
	// node shares the machine's hostname.
	if err := os.Setenv("NODE_NAME", opts.nodeName); err != nil {
		return err
	}
	config := options.NewKubeRouterConfig()
	config.ClusterIPCIDRs = []string{opts.serviceRange}
	config.EnableIPv4 = true
	config.EnableIPv6 = false
	config.HostnameOverride = opts.nodeName
	config.IPTablesSyncPeriod = opts.syncPeriod
	config.RunFirewall = true

	ipt, err := iptables.NewWithProtocol(iptables.ProtocolIPv4)
	if err != nil {
		return err
	}
	ipset, err := utils.NewIPSet(false)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	pods := factory.Core().V1().Pods().Informer()
	namespaces := factory.Core().V1().Namespaces().Informer()
	policies := factory.Networking().V1().NetworkPolicies().Informer()
	controller, err := netpol.NewNetworkPolicyController(
		client, config, pods, policies, namespaces, &sync.Mutex{},
		map[v1.IPFamily]utils.IPTablesHandler{v1.IPv4Protocol: ipt},
		map[v1.IPFamily]utils.IPSetHandler{v1.IPv4Protocol: ipset},
	)
	if err != nil {
		return err
	}
	if _, err := pods.AddEventHandler(controller.PodEventHandler); err != nil {
		return err
	}
	if _, err := namespaces.AddEventHandler(controller.NamespaceEventHandler); err != nil {
		return err
	}
	if _, err := policies.AddEventHandler(controller.NetworkPolicyEventHandler); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	// The controller reports a heartbeat per sync and blocks until it is read.
	heartbeats := make(chan *healthcheck.ControllerHeartbeat, 1)
	go func() {
		for range heartbeats {
		}
	}()
	var running sync.WaitGroup
	running.Add(1)
	go controller.Run(heartbeats, ctx.Done(), &running)
	<-ctx.Done()
	running.Wait()
	return nil
}
