package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/viper"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/chat/cluster"
	"github.com/shopchat/shopchat/chat/handoff"
	"github.com/shopchat/shopchat/kb"
	"github.com/shopchat/shopchat/recommender"
)

// clusterConfig turns `serve` into one node of a cluster (keys cluster.*, env SHOPCHAT_CLUSTER_*; see
// docs/deploy.md). With postgres_dsn empty (the default) the node is the single-binary SQLite server.
type clusterConfig struct {
	// PostgresDSN is the shared store (env SHOPCHAT_CLUSTER_POSTGRES_DSN).
	PostgresDSN string `mapstructure:"postgres_dsn"`
	// Schema confines the cluster to one PostgreSQL schema (default: the DSN's search path).
	Schema string `mapstructure:"schema"`
	// NATSURL carries events between nodes (env SHOPCHAT_CLUSTER_NATS_URL).
	NATSURL string `mapstructure:"nats_url"`
	// Prefix of the NATS subjects; every node of one cluster uses the same (default "shopchat").
	Prefix string `mapstructure:"prefix"`
	// NodeName identifies this node (default: the host name and the listen address).
	NodeName string `mapstructure:"node_name"`
	// CopyCatalog replaces the cluster's catalogue with this node's SQLite knowledge base at start
	// (it is always copied into an empty cluster).
	CopyCatalog bool `mapstructure:"copy_catalog"`
	// ModelPoll is how often the shared model locations (models.intent, models.recommender) are
	// checked for a new model (default 5s; negative: never).
	ModelPoll time.Duration `mapstructure:"model_poll"`
}

func setClusterDefaults(v *viper.Viper) {
	v.SetDefault("cluster.postgres_dsn", "")
	v.SetDefault("cluster.schema", "")
	v.SetDefault("cluster.nats_url", "nats://127.0.0.1:4222")
	v.SetDefault("cluster.prefix", "shopchat")
	v.SetDefault("cluster.node_name", "")
	v.SetDefault("cluster.copy_catalog", false)
	v.SetDefault("cluster.model_poll", 5*time.Second)
}

// clusterNode is this server's cluster membership; a nil *clusterNode is a single node and every
// method leaves the configuration as it is.
type clusterNode struct {
	node     *cluster.Node
	watchers []*cluster.ModelWatcher
	log      *slog.Logger
}

// startCluster joins the cluster when cluster.postgres_dsn is set, and returns nil otherwise. local is
// the node's SQLite knowledge base, whose catalogue is copied to the cluster when the cluster has none
// (or cluster.copy_catalog is set).
func startCluster(ctx context.Context, c *config, local *kb.Store, log *slog.Logger) (*clusterNode, error) {
	cc := c.Cluster
	if cc.PostgresDSN == "" {
		return nil, nil
	}
	if cc.NodeName == "" {
		host, _ := os.Hostname()
		cc.NodeName = fmt.Sprintf("%s-%s", host, c.Addr)
	}
	hc := c.Handoff
	n, err := cluster.NewNode(ctx, cluster.NodeConfig{
		Name: cc.NodeName, DSN: cc.PostgresDSN, Schema: cc.Schema, NATSURL: cc.NATSURL, Prefix: cc.Prefix, Logger: log,
		Engine: handoff.EngineConfig{Logger: log, DefaultMaxConcurrent: hc.MaxConcurrent, ManualOnly: hc.ManualOnly,
			AnswerTimeout: hc.AnswerTimeout, MaxQueueWait: hc.MaxQueueWait},
		Auth: handoff.AuthConfig{SessionTTL: hc.SessionTTL},
		Service: handoff.ServiceConfig{TrainingFile: hc.TrainingFile, OfflineGrace: hc.OfflineGrace,
			SecureCookies: hc.SecureCookies, AllowedOrigins: hc.AllowedOrigins},
		Webhook: handoff.WebhookConfig{URL: hc.WebhookURL, Secret: hc.WebhookSecret},
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	empty, err := n.Store.CatalogEmpty(ctx)
	if err != nil {
		n.Close()
		return nil, err
	}
	if empty || cc.CopyCatalog {
		counts, err := n.Store.CopyCatalogFrom(ctx, local)
		if err != nil {
			n.Close()
			return nil, fmt.Errorf("cluster: copy the catalogue: %w", err)
		}
		log.Info("copied the catalogue to the cluster", "products", counts.Products, "orders", counts.Orders, "faqs", counts.FAQs)
	}
	log.Info("cluster node", "node", cc.NodeName, "nats", cc.NATSURL, "prefix", cc.Prefix)
	return &clusterNode{node: n, log: log}, nil
}

// dialogue points the dialogue at the shared store and the cluster's handoff.
func (cn *clusterNode) dialogue(d *chat.DialogueConfig) {
	if cn == nil {
		return
	}
	d.Knowledge, d.States, d.Impressions, d.Handoff = cn.node.Store, cn.node.Store, cn.node.Store, cn.node.Service
	d.FAQMinScore = kb.PGFAQMinScore // PostgreSQL's full-text scores are on another scale than SQLite's BM25
}

// server points the chat server at the shared store, the NATS bus and the cluster's handoff.
func (cn *clusterNode) server(s *chat.Config) {
	if cn == nil {
		return
	}
	s.Messages, s.Conversations, s.Bus, s.Handoff = cn.node.Store, cn.node.Store, cn.node.Bus, cn.node.Service
}

// attach mounts the console, the readiness checks and metrics, and watches the shared models.
func (cn *clusterNode) attach(srv *chat.Server, c *config, models *servedModels) {
	if cn == nil {
		return
	}
	cn.node.Attach(srv)
	if c.Cluster.ModelPoll < 0 {
		return
	}
	if sw, ok := models.classifier.(interface {
		Swap(ctx context.Context, dir string) error
	}); ok {
		cn.watch("intent", c.Models.Intent, c.Cluster.ModelPoll, sw.Swap)
	}
	if svc, ok := models.recommender.(*recommender.Service); ok {
		cn.watch("recommender", c.Models.Recommender, c.Cluster.ModelPoll, func(ctx context.Context, dir string) error {
			m, err := recommender.Load(dir)
			if err != nil {
				return err
			}
			svc.Swap(m)
			return nil
		})
	}
}

func (cn *clusterNode) watch(name, dir string, every time.Duration, swap func(context.Context, string) error) {
	w, err := cluster.NewModelWatcher(cluster.ModelWatcherConfig{Name: name, Dir: dir, Swap: swap, Interval: every, Logger: cn.log})
	if err != nil {
		cn.log.Warn("model watcher", "model", name, "err", err)
		return
	}
	cn.watchers = append(cn.watchers, w)
}

// run runs the handoff service and the model watchers until ctx is done.
func (cn *clusterNode) run(ctx context.Context) {
	if cn == nil {
		return
	}
	for _, w := range cn.watchers {
		go w.Run(ctx)
	}
	cn.node.Run(ctx)
}

// close leaves the cluster (another node takes over the handoff lead).
func (cn *clusterNode) close() {
	if cn != nil {
		cn.node.Close()
	}
}
